"""A driver on its chip model (tests/chips) on a TAP in a network namespace: the real Linux
kernel pings barenet through the unchanged W5500 / ENC28J60 driver, sends it 100 KB over
TCP, echoes 1 MB through the board's TCP echo (sha256 both ways) and curls its status page
(barenet/apps). Frames the model transmits go to the TAP; what the kernel sends is handed to
the model as its wire's frames.

The board here is the stack and apps stepped by a Loop in the test process; when the
firmware (firmware/main.py) lands, the same driver and model belong under it instead."""

import json
import os
import select
import sys
import time

import pytest

from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet.loop import Loop
from barenet.stack import Stack
from barenet_host.runner import now_ms

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(REPO, "tests", "chips"), os.path.join(REPO, "firmware")):
    if p not in sys.path:
        sys.path.insert(0, p)
import chipnet  # noqa: E402
from conftest import ECHO_CLIENT  # noqa: E402

SIZE = 100000
CLIENT = """
import hashlib, socket, sys
data = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(int(sys.argv[1])))
s = socket.create_connection(("192.0.2.2", 5001), timeout=20)
s.sendall(data)
s.close()
print(hashlib.sha256(data).hexdigest())
"""


class Board:
    """barenet on chip's driver on its model, the model's Ethernet side on the TAP."""

    def __init__(self, tap, chip):
        self.tap = tap
        self.model, self.drv = chipnet.chip_and_driver(chip, tap)
        self.stack = Stack("board", seed=5)
        self.stack.add_interface(self.drv, mac=chipnet.BOARD_MAC,
                                 ip=chipnet.BOARD_IP + "/24", now_ms=now_ms())
        self.loop = Loop(self.stack)
        self._buf = bytearray(1600)

    def run(self, until, timeout_s):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            wait = self.loop.step(now_ms())
            if until():
                return True
            t = 0.05 if wait is None else min(wait / 1000, 0.05)
            if select.select([self.tap], [], [], t)[0]:
                for _ in range(64):
                    n = self.tap.recv_into(self._buf)
                    if not n:
                        break
                    self.model.receive(self._buf[:n])
        return until()

    def wait(self, proc, timeout_s):
        """Step the board until proc (in the namespace) exits: -> its (stdout, stderr)."""
        try:
            assert self.run(lambda: proc.poll() is not None, timeout_s)
        finally:
            if proc.poll() is None:
                proc.kill()
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        return out


@pytest.mark.root
@pytest.mark.timeout(120)
@pytest.mark.parametrize("chip", ["w5500", "enc28j60"])
def test_kernel_pings_and_sends_tcp_through_the_driver_and_model(tap_ns, kernel, chip):
    tap_ns.ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap_ns.name, 1)
    b = Board(tap_ns.tap, chip)
    ping = tap_ns.ns.popen(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1400",
                            chipnet.BOARD_IP], stdout=-1, stderr=-1, text=True)
    try:
        assert b.run(lambda: ping.poll() is not None, 20)
    finally:
        if ping.poll() is None:
            ping.kill()
        out = ping.communicate(timeout=10)[0]
    assert ping.returncode == 0 and "3 received" in out, out

    sink = chipnet.Sink(b.stack.tcp.listen(5001))
    b.loop.add_task(sink.poll)
    client = kernel.popen_py(CLIENT, str(SIZE))
    try:
        assert b.run(lambda: sink.eof and client.poll() is not None, 60)
    finally:
        if client.poll() is None:
            client.kill()
        sent_sha, err = client.communicate(timeout=10)
    assert client.returncode == 0, err
    assert sink.n == SIZE and sink.hexdigest() == sent_sha.strip()
    assert b.model.stats["rx_wrapped"] >= 1 and b.drv.stats["drop_rx_bad"] == 0


@pytest.mark.root
@pytest.mark.timeout(240)
@pytest.mark.parametrize("chip", ["w5500", "enc28j60"])
def test_kernel_echoes_1mb_and_curls_the_status_page_through_the_driver_and_model(
        tap_ns, kernel, chip):
    tap_ns.ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap_ns.name, 1)
    b = Board(tap_ns.tap, chip)
    for app in (TCPEcho(b.stack, 7), StatusPage(b.stack, 80)):
        b.loop.add_task(app.poll)
    size = 1 << 20
    r = json.loads(b.wait(kernel.popen_py(ECHO_CLIENT, chipnet.BOARD_IP, "7", str(size),
                                          "150"), 180))
    assert r["sent"] == r["got"] == size and r["got_sha"] == r["sha"], r
    # 1 MB each way is many times round the chip's RX ring, and nothing came out torn
    assert b.model.stats["rx_wrapped"] >= size // 16384
    assert b.drv.stats["drop_rx_bad"] == b.drv.stats["rx_reset"] == 0
    curl = tap_ns.ns.popen(["curl", "-sS", "-m", "10", "-w", "\n%{http_code}",
                            "http://%s/?format=json" % chipnet.BOARD_IP],
                           stdout=-1, stderr=-1, text=True)
    body, _, code = b.wait(curl, 20).rpartition("\n")
    assert code == "200", (code, body)
    page = json.loads(body)
    assert page["interfaces"][0]["ip"] == chipnet.BOARD_IP + "/24"
    assert page["stats"]["tcp"]
