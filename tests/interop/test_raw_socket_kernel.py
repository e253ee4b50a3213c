"""SOCK_RAW through barenet's socket API against the Linux kernel on a TAP (issue 9 acceptance):
examples/raw_ping.py pings the kernel over barenet's raw ICMP socket, the same program run by
the kernel (a CPython raw socket inside the namespace) pings barenet, and datagrams of the
experimental protocol 253 (RFC 3692) go both ways between a barenet raw socket and a kernel
raw socket run with `ip netns exec`."""

import json
import os
import sys

import pytest

from barenet import socket as bsock
from barenet_host.runner import RunnerDriver

pytestmark = pytest.mark.root

KERNEL = "192.0.2.1"
US = "192.0.2.2"
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")


def watch(barenet, ms=50):
    """Step every ms without traffic, so that a run waiting for a kernel process sees it end."""
    barenet.runner.add_task(lambda now: ms)


def test_raw_ping_example_pings_the_kernel(barenet, capsys):
    sys.path.insert(0, EXAMPLES)
    bsock.install(barenet.stack, RunnerDriver(barenet.runner))
    try:
        import raw_ping
        assert raw_ping.main([KERNEL, "3"]) == 3
    finally:
        bsock.uninstall()
        sys.path.remove(EXAMPLES)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(" time=")[0] for ln in lines[1:4]] == [
        "64 bytes from %s: icmp_seq=%d ttl=64" % (KERNEL, i) for i in range(3)]
    assert lines[-1] == "3 packets transmitted, 3 received"


def test_the_kernel_runs_the_same_example_against_barenet(barenet, kernel):
    watch(barenet)
    proc = kernel.ns.popen([sys.executable, os.path.join(EXAMPLES, "raw_ping.py"), US, "3"],
                           stdout=-1, stderr=-1, text=True)
    try:
        assert barenet.run(until=lambda: proc.poll() is not None, timeout_s=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, out + err
    assert out.splitlines()[-1] == "3 packets transmitted, 3 received"


KERNEL_253 = r"""
import json, socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
s.settimeout(10)
s.sendto(b"kernel says hi", ("192.0.2.2", 0))
while True:
    d, a = s.recvfrom(65535)
    if a[0] == "192.0.2.2":
        break
print(json.dumps({"from": a[0], "ttl": d[8], "proto": d[9], "payload": d[20:].decode()}))
"""


def test_protocol_253_both_ways_through_the_socket_api(barenet, kernel):
    net = bsock.Sockets(barenet.stack, RunnerDriver(barenet.runner))
    s = net.socket(net.AF_INET, net.SOCK_RAW, 253)
    s.settimeout(10)
    s.setsockopt(net.IPPROTO_IP, net.IP_TTL, 33)
    watch(barenet)
    proc = kernel.popen_py(KERNEL_253)
    try:
        d, src = s.recvfrom(65535)       # blocking: the call runs the stack meanwhile
        assert src == (KERNEL, 0)
        assert d[0] == 0x45 and d[9] == 253 and d[20:] == b"kernel says hi"
        assert s.sendto(b"barenet answers", src) == 15
        assert barenet.run(until=lambda: proc.poll() is not None, timeout_s=10)
    finally:
        s.close()
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert json.loads(out) == {"from": US, "ttl": 33, "proto": 253,
                               "payload": "barenet answers"}
    assert barenet.stack.stats["ip"].get("drop_proto", 0) == 0   # the raw socket took it
