"""The chip models against the kernel (issue 11): the unchanged firmware (firmware/main.py,
netdev.py and the real driver) with a config.json naming the w5500 or the enc28j60 driver, on
a board whose chip is its register-level model (tests/chips/fw_board.py: the fake machine's
SPI and Pin are soldered to the model). The model's Ethernet port is a UDP wire relayed onto
a TAP in a netns (vm_tunnel.py). The kernel pings the board, curls its status page and echoes
1 MB through its TCP echo app (sha256 checked), with the firmware in the MicroPython VM and
on CPython (tests/chips/cpython_port.py).

In the VM the chip's INT pin is wired as the board file has it, and the firmware's poll waits
on it (spinic.Ready); CPython's select.poll takes only fds, so there INT is left unwired and
the driver asks the chip on its polled period: both of the driver's modes."""

import json
import os
import subprocess
import sys

import pytest

from procs import Lines, stop
from test_firmware_kernel import MICROPYTHON, reaches
from vm_tunnel import Tunnel

pytestmark = pytest.mark.root

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHIPS = os.path.join(REPO, "tests", "chips")
BOARDS = {"w5500": "w5500-evb-pico", "enc28j60": "pico-enc28j60"}
BOARD_IP = "192.0.2.2"
# as test_firmware_kernel.py's: the sources compile in the VM's heap (the model's memory,
# the W5500's 32 KB or the ENC28J60's 8 KB, is there too)
HEAP = "1m"


class ChipBoard:
    """The firmware on chip's model, its wire relayed onto tap_ns's TAP."""

    def __init__(self, tap_ns, tmp_path, chip, runtime):
        cfg = json.load(open(os.path.join(REPO, "boards", BOARDS[chip] + ".json")))["config"]
        cfg.update(board=BOARDS[chip], net={"mode": "static", "address": BOARD_IP + "/24",
                                             "gateway": "192.0.2.1"})
        if runtime == "cpython":
            del cfg["link"]["int"]
        path = tmp_path / "config.json"
        path.write_text(json.dumps(cfg))
        self.tunnel = Tunnel(tap_ns.tap)
        where = [CHIPS, os.path.join(REPO, "firmware")]
        if runtime == "vm":
            cmd = [MICROPYTHON, "-X", "heapsize=" + HEAP]
            env = dict(os.environ, MICROPYPATH=os.pathsep.join(
                [".frozen"] + where + [os.path.join(REPO, "shared")]))
        else:
            cmd = [sys.executable]
            env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(where))
        self.proc = subprocess.Popen(cmd + [os.path.join(CHIPS, "fw_board.py"), str(path),
                                            str(self.tunnel.port)],
                                     cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.log = Lines(self.proc)

    def close(self):
        stop(self.proc)
        self.tunnel.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("runtime", ["vm", "cpython"])
@pytest.mark.parametrize("chip", ["w5500", "enc28j60"])
def test_kernel_pings_curls_and_echoes_1mb_through_the_firmware_on_the_chip_model(
        tap_ns, tmp_path, chip, runtime):
    tap_ns.ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap_ns.name, 1)
    b = ChipBoard(tap_ns, tmp_path, chip, runtime)
    try:
        b.log.text("board %s" % BOARDS[chip])
        b.log.text("up: barenet firmware")
        b.log.text("link up", timeout_s=30)
        reaches(tap_ns.ns, BOARD_IP)
        r = tap_ns.ns.run(["curl", "-s", "-m", "30", "http://%s/?format=json" % BOARD_IP],
                          timeout=60)
        nic = json.loads(r.stdout)["interfaces"][0]["nic"]
        # the driver's own counters: 1 MB each way went through the chip, none of it torn,
        # nothing lost to a stuck chip (many times round its RX memory: the model's wrap)
        assert nic["rx"] > (1 << 20) // 1500 and nic["tx"] > (1 << 20) // 1500, nic
        assert nic["drop_rx_bad"] == nic["rx_reset"] == nic["chip_timeout"] == 0, nic
        assert not any("Traceback" in x or "error:" in x for x in b.log.seen), b.log.seen
    finally:
        b.close()
