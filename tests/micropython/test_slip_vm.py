"""The board's SLIP NIC (firmware/drivers/slip_stream.py) in the real MicroPython VM, over an
AF_UNIX socket to a host barenet stack on the `unix:PATH` device: pings both ways and a TCP
echo of 64 KB byte-exact, with and without the CRC trailer (the VM computes it with the core's
table, the host with crcmod)."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from barenet_host.devices import spec as devspec

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "unit"))
from test_micropython import MICROPYTHON, REPO, vm_env  # noqa: E402
from slipstacks import Stacks  # noqa: E402
from vm_common import payload  # noqa: E402

FIRMWARE = os.path.join(REPO, "firmware")
SIZE = 64000


class Echo:
    """The host's TCP echo on port 7, as a loop task: what it reads it writes back."""

    def __init__(self, stack):
        self.lst = stack.tcp.listen(7)
        self.conn = None
        self.pending = b""
        self.got = 0

    def task(self, now):
        if self.conn is None:
            self.conn = self.lst.accept()
        c = self.conn
        while c is not None:
            if self.pending:
                n = c.send(self.pending)
                self.pending = self.pending[n:]
                if self.pending:
                    break
            d = c.recv(8192)
            if d is None:
                break
            if not d:
                c.shutdown_write()
                self.conn = None
                break
            self.got += len(d)
            self.pending = d
        return None


@pytest.mark.timeout(180)
@pytest.mark.parametrize("opts", ["", ",crc"])
def test_vm_board_on_slip_over_a_unix_socket_to_a_host_stack(tmp_path, opts):
    path = str(tmp_path / "board.sock")
    lines = []
    nic = devspec.open_device("unix:" + path + opts, log=lines.append)
    vm = None
    try:
        s = Stacks()
        host, iface = s.add(nic, "192.0.2.1/24")
        echo = Echo(host)
        s.loops[0].add_task(echo.task)
        vm = subprocess.Popen([MICROPYTHON, os.path.join(HERE, "vm_slip_link.py"), path,
                               "crc" if opts else "plain", str(SIZE)],
                              cwd=REPO, env=vm_env([FIRMWARE]), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        assert s.run(lambda: iface.link_up or vm.poll() is not None, timeout_s=30)
        assert s.ping(host, "192.0.2.2", (56, 3000)) == [("192.0.2.2", 0, 56),
                                                          ("192.0.2.2", 1, 3000)]
        assert s.run(lambda: vm.poll() is not None, timeout_s=120)
        out, err = vm.communicate(timeout=10)
        assert vm.returncode == 0, err[-3000:]
        r = json.loads(out)
        assert r["ping"] == [["192.0.2.1", 0, 56, True], ["192.0.2.1", 1, 3000, True]]
        got, back, sent = r["echo"]
        want = hashlib.sha256(payload(7, 1000) * (SIZE // 1000)).hexdigest()
        assert r["echo_done"] and got == SIZE and back == sent == want and echo.got == SIZE
        assert r["answered"] and r["drop_internal_error"] == 0
        for stats in (r["link"], nic.stats):
            assert not {k: v for k, v in stats.items() if k.startswith("drop") and v
                        and k != "drop_tx_full"}, stats
        assert lines[0] == "unix %s is up" % path
    finally:
        if vm is not None and vm.poll() is None:
            vm.kill()
            vm.communicate(timeout=10)
        nic.close()
