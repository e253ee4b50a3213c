"""examples/raw_ping.py: against CPython's own raw socket to 127.0.0.1 (the reference; we are
root here and in CI) and, unchanged, over barenet on a virtual wire after install(). The
MicroPython VM run is in tests/micropython/test_sockets_raw_unix_vm.py, the kernel over a TAP
in tests/interop/test_raw_socket_kernel.py."""

import importlib.util
import os

import pytest

from barenet import socket as bsock
from barenet_host.vwire import Sim, SimDriver

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def installed():
    """Two stacks on a virtual wire; `import socket` gives barenet over the second while the
    generator runs (the fixture of each examples test file)."""
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host")
    bsock.install(b, SimDriver(sim))
    try:
        yield a, b
    finally:
        bsock.uninstall()


barenet_installed = pytest.fixture(installed)


def check(lines, host, n):
    assert lines[0] == "PING %s: 56 data bytes" % host
    assert [ln.split(" time=")[0] for ln in lines[1:1 + n]] == [
        "64 bytes from %s: icmp_seq=%d ttl=64" % (host, i) for i in range(n)]
    assert lines[-1] == "%d packets transmitted, %d received" % (n, n)


def test_reference_cpython_raw_socket_to_loopback(capsys):
    ping = load("raw_ping")
    assert ping.main(["127.0.0.1", "3"]) == 3
    check(capsys.readouterr().out.splitlines(), "127.0.0.1", 3)


def test_over_barenet_on_a_virtual_wire(barenet_installed, capsys):
    a, b = barenet_installed
    ping = load("raw_ping")
    assert ping.main(["192.0.2.1", "4"]) == 4
    check(capsys.readouterr().out.splitlines(), "192.0.2.1", 4)
    # the peer stack answered each request, and the pinging side's raw socket took the replies
    assert a.stats["icmp"]["tx_echo_reply"] == 4 and b.stats["raw"] == {"tx": 4, "rx": 4}


def test_no_reply_is_reported_not_hung(barenet_installed, capsys):
    ping = load("raw_ping")
    # an address on the wire nobody has: ARP fails, each request times out (2 s, virtual)
    assert ping.ping(__import__("socket"), "192.0.2.77", count=2, timeout=2.0) == 0
    out = capsys.readouterr().out
    assert "2 packets transmitted, 0 received" in out
