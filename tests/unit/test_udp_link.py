"""The UDP frame link on 127.0.0.1 (no root): the board's tunnel NIC (firmware/drivers/udp_link.py,
here on CPython), the host end (barenet_host.devices.udp, `udp:[ADDR:]PORT`) and the relay
between two host devices. Frames go through byte-exact, one per datagram, and a host end
answers the board that spoke last."""

import os
import select
import sys
import threading

import pytest

from barenet_host.devices.udp import UDPDevice, parse_spec
from barenet_host.relay import Relay

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "firmware"))
from drivers.udp_link import UDPLink  # noqa: E402

FRAMES = [bytes([i]) * n for i, n in enumerate((60, 1514, 14, 600))]


def recv(nic, timeout_s=2.0):
    """The next frame nic receives, waiting on its fd; b"" if none comes in time."""
    buf = bytearray(1600)
    if select.select([nic.fileno()], [], [], timeout_s)[0]:
        return bytes(buf[:nic.recv_into(buf)])
    return b""


@pytest.mark.parametrize("spec, want", [("5555", ("127.0.0.1", 5555)),
                                        ("127.0.0.2:1", ("127.0.0.2", 1))])
def test_parse_spec(spec, want):
    assert parse_spec(spec) == want


@pytest.mark.parametrize("spec", ["", "x", "127.0.0.1:", "0", "70000", "300.1.1.1:5", "a:5"])
def test_parse_spec_says_what_is_wrong(spec):
    with pytest.raises(ValueError, match="udp device"):
        parse_spec(spec)


def test_board_link_and_host_end_carry_frames_both_ways():
    with UDPDevice(0) as host:
        board = UDPLink("127.0.0.1", host.addr[1])
        try:
            host.send(b"too early")            # no board has spoken yet
            assert host.stats["drop_no_peer"] == 1
            assert board.recv_into(bytearray(100)) == 0
            for f in FRAMES:
                board.send(f)
                assert recv(host) == f
            assert host.peer == board.sock.getsockname()
            for f in FRAMES:
                host.send(memoryview(f))       # the stack hands out views valid for the call
                assert recv(board) == f
            assert (board.stats["tx"], board.stats["rx"]) == (4, 4)
            assert (host.stats["tx"], host.stats["rx"]) == (4, 4)
        finally:
            board.close()


def test_host_end_follows_a_board_that_came_back_on_a_new_port():
    with UDPDevice(0) as host:
        old = UDPLink("127.0.0.1", host.addr[1])
        old.send(b"old")
        assert recv(host) == b"old"
        old.close()
        new = UDPLink("127.0.0.1", host.addr[1])
        try:
            new.send(b"new")
            assert recv(host) == b"new"
            host.send(b"to the new one")
            assert recv(new) == b"to the new one"
        finally:
            new.close()


def test_relay_joins_two_boards_through_two_host_ends():
    with UDPDevice(0) as end_a, UDPDevice(0) as end_b:
        a = UDPLink("127.0.0.1", end_a.addr[1])
        b = UDPLink("127.0.0.1", end_b.addr[1])
        relay = Relay(end_a, end_b)
        t = threading.Thread(target=relay.run, kwargs={"timeout_s": 30}, daemon=True)
        t.start()
        try:
            # each end learns its board from the board's first frame; a's is relayed to an
            # end_b that knows no board yet, and dropped there
            a.send(b"a first")
            for _ in range(200):
                if end_b.stats["drop_no_peer"]:
                    break
                select.select([], [], [], 0.01)
            assert end_a.peer == a.sock.getsockname() and end_b.stats["drop_no_peer"] == 1
            b.send(b"b first")
            assert recv(a) == b"b first"
            for f in FRAMES:
                a.send(f)
                assert recv(b) == f
        finally:
            relay.stop()
            t.join(10)
            relay.close()
            a.close()
            b.close()
        assert not t.is_alive()
        assert relay.frames == {"a_to_b": 5, "b_to_a": 1}


def test_board_link_imported_after_install_says_to_import_it_first():
    import importlib.util
    from barenet import socket as bsock
    from barenet_host.vwire import Sim, SimDriver
    sim = Sim()
    stack, _ = sim.host(sim.wire(), "02:00:00:00:00:01", "192.0.2.1/24")
    bsock.install(stack, SimDriver(sim))
    try:
        spec = importlib.util.spec_from_file_location("udp_link_probe",
                                                      sys.modules["drivers.udp_link"].__file__)
        probe = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(probe)
        with pytest.raises(ImportError, match="import it first"):
            probe.UDPLink("127.0.0.1", 9)
    finally:
        bsock.uninstall()


def test_board_link_polled_speaks_at_once_and_then_every_keepalive_period():
    """The host end learns the board from its datagrams and forgets it when it restarts:
    the link's poll (nic.py) sends an empty one at the first step and then every
    KEEPALIVE_MS of the loop's clock, and says when it next needs polling."""
    import socket
    from drivers import udp_link
    host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host.bind(("127.0.0.1", 0))
    host.settimeout(0.5)
    board = UDPLink("127.0.0.1", host.getsockname()[1])
    period = udp_link.KEEPALIVE_MS
    start = (1 << 30) - 3000         # across the ticks wrap (barenet/ticks.py)
    try:
        got = []
        for dt in (0, 1, period - 1, period, period + 1, 2 * period):
            now = (start + dt) % (1 << 30)
            wait = board.poll(now)
            host.settimeout(0.5 if dt in (0, period, 2 * period) else 0.05)
            try:
                data, addr = host.recvfrom(100)
                got.append((dt, data, wait))
                assert addr == board.sock.getsockname()
            except socket.timeout:
                pass
        assert got == [(0, b"", period), (period, b"", period), (2 * period, b"", period)]
        assert board.poll((start + 2 * period + 100) % (1 << 30)) == period - 100
    finally:
        board.close()
        host.close()
