"""barenet_host.threaded: what the two-target tests (tests/sockets/test_select.py,
test_threads.py) cannot show from outside: every socket class is guarded, including one
added later, the module's calls too, single-threaded drivers are left alone, and stop()
releases a call that would otherwise block for ever."""

import os
import threading

import pytest

from barenet import socket as bsocket
from barenet.socket import Sockets, StreamSocket
from barenet_host.threaded import RealTimeSim, StackThread
from barenet_host.vwire import Sim, SimDriver

JOIN_S = 10


def _world():
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    return sim, a


@pytest.fixture
def threaded():
    sim, stack = _world()
    with StackThread(RealTimeSim(sim)) as drv:
        yield drv, Sockets(stack, drv)


def test_a_socket_class_added_later_takes_the_lock_without_doing_anything(threaded,
                                                                         monkeypatch):
    drv, net = threaded

    class Probe(bsocket.Socket):      # as raw.py or local.py register theirs in _KINDS
        def held(self):
            return drv.lock._is_owned()

        def _poll(self):
            return 0

        def _close(self):
            pass

    monkeypatch.setitem(bsocket._KINDS, (99, 1), Probe)
    s = net.socket(99, 1)
    assert isinstance(s, Probe) and type(s) is not Probe
    assert s.held() is True
    assert drv.lock._is_owned() is False       # released after the call
    s.close()


def test_accepted_sockets_and_the_module_calls_are_guarded_too(threaded):
    drv, net = threaded
    assert type(net) is not Sockets and isinstance(net, Sockets)
    assert net.inet_aton("192.0.2.9") == b"\xc0\x00\x02\x09"    # static helpers unchanged
    lst = net.socket()
    lst.bind(("192.0.2.1", 7))
    lst.listen(1)
    c = net.create_connection(("192.0.2.1", 7), 5)
    s, _ = lst.accept()
    assert type(s) is type(lst) and type(s).__mro__[1] is StreamSocket
    for x in (s, c, lst):
        x.close()


def test_single_threaded_drivers_keep_the_plain_classes():
    sim, stack = _world()
    net = Sockets(stack, SimDriver(sim))
    assert type(net) is Sockets
    assert type(net.socket()) is StreamSocket


def test_stop_releases_a_call_blocked_without_a_timeout():
    sim, stack = _world()
    drv = StackThread(RealTimeSim(sim)).start()
    net = Sockets(stack, drv)
    u = net.socket(net.AF_INET, net.SOCK_DGRAM)
    u.bind(("192.0.2.1", 9))
    got = []

    def recv():
        try:
            u.recvfrom(10)
        except RuntimeError as e:
            got.append(str(e))

    t = threading.Thread(target=recv, daemon=True)
    t.start()
    for _ in range(1000):       # until it waits (the lock free, the call inside step())
        if drv._waiting:
            break
        threading.Event().wait(0.001)
    assert drv._waiting
    drv.stop()
    t.join(JOIN_S)
    assert not t.is_alive()
    assert got == ["no StackThread runs the stack (not started, or stopped)"]


def test_stop_frees_the_fds_of_sockets_left_open():
    before = len(os.listdir("/proc/self/fd"))
    sim, stack = _world()
    drv = StackThread(RealTimeSim(sim)).start()
    net = Sockets(stack, drv)
    socks = [net.socket() for _ in range(5)]
    assert len({s.fileno() for s in socks}) == 5
    drv.stop()
    assert len(os.listdir("/proc/self/fd")) == before
