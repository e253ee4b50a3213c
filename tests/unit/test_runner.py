"""The select runner against a fake stack and NICs on AF_UNIX datagram sockets.

A fake select() stands in for sleeping: it records the timeout the runner asked for and
advances a fake clock by it, so these tests check the loop's timing decisions without waiting.
"""

import os
import signal
import socket

import pytest

from barenet import ticks
from barenet_host import runner as runner_mod
from barenet_host.faults import FaultModel, FaultyNIC
from barenet_host.runner import Runner


class FakeIface:
    hlen = 14
    link_up = True

    def __init__(self, nic, mtu=1500):
        self.nic = nic
        self.mtu = mtu
        self.rx_max = mtu        # the largest frame the loop reads (a TAP with offloads: 64 KB)


class FakeStack:
    """The shape the loop step needs of a barenet.stack.Stack: interfaces, input, poll."""

    def __init__(self, wait=None):
        self.wait = wait
        self.interfaces = []
        self.inputs = []  # (iface, bytes, now)
        self.polls = []
        self.views = []

    def input(self, iface, frame, now_ms):
        self.views.append(frame)
        self.inputs.append((iface, bytes(frame), now_ms))

    def poll(self, now_ms):
        self.polls.append(now_ms)
        return self.wait


class SockNIC:
    """An fd-based NIC: the test writes frames into the peer end of a datagram socketpair."""

    def __init__(self):
        self.sock, self.peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = []

    def fileno(self):
        return self.sock.fileno()

    def recv_into(self, buf):
        try:
            return self.sock.recv_into(buf)
        except BlockingIOError:
            return 0

    def send(self, frame):
        self.sent.append(bytes(frame))

    def inject(self, *frames):
        for f in frames:
            self.peer.send(f)

    def close(self):
        self.sock.close()
        self.peer.close()


class Clock:
    def __init__(self, start=ticks.PERIOD - 20):  # start just before the wrap (STYLE.md 6)
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
def nic():
    n = SockNIC()
    yield n
    n.close()


@pytest.fixture
def fake_select(monkeypatch):
    """Replace select.select: log timeouts, advance the clock, report the NIC fds readable only
    when the test socket really has data (checked with a zero-timeout real select)."""
    real = runner_mod.select.select
    log = []

    def install(clock=None, runner=None, max_calls=50):
        def fake(r, w, x, timeout):
            log.append(timeout)
            if len(log) > max_calls:
                raise AssertionError("runner kept looping: %r" % log[-5:])
            if clock is not None and timeout:
                clock.now = ticks.add(clock.now, int(round(timeout * 1000)))
            if runner is not None and timeout is None and not real(r, w, x, 0)[0]:
                runner.stop()  # would sleep forever: end the test loop instead
            return real(r, w, x, 0)
        monkeypatch.setattr(runner_mod.select, "select", fake)
        return log
    return install


def make(stack, nic, clock=None, **kw):
    r = Runner(stack, clock=clock or Clock(), **kw)
    iface = FakeIface(nic)
    stack.interfaces.append(iface)
    return r, iface


def test_frames_reach_stack_in_order_as_views_of_one_buffer(nic, fake_select):
    stack = FakeStack()
    clock = Clock()
    r, iface = make(stack, nic, clock)
    fake_select(clock, r)
    nic.inject(b"\x01" * 60, b"\x02" * 1514, b"\x03" * 42)
    assert r.run() is True  # the fake select stops it once the socket is drained
    assert [(i, f) for i, f, _ in stack.inputs] == [
        (iface, b"\x01" * 60), (iface, b"\x02" * 1514), (iface, b"\x03" * 42)]
    assert all(now == clock.now for _, _, now in stack.inputs)
    # No per-frame buffers: every view points into the runner's one MTU + 14 byte buffer.
    assert all(isinstance(v, memoryview) and v.obj is r.loop._buf for v in stack.views)
    assert len(r.loop._buf) == 1500 + 14
    r.close()


def test_sleeps_until_earliest_deadline_of_stack_and_tasks(nic, fake_select):
    stack = FakeStack(wait=250)
    clock = Clock()
    r, _ = make(stack, nic, clock)
    log = fake_select(clock)
    seen = []

    def task(now):
        seen.append(now)
        return 100 if len(seen) < 3 else None

    r.add_task(task)
    r.run(until=lambda: len(seen) == 4, timeout_s=30)
    # 100 ms (task), 100 ms (task), then the stack's 250 ms once the task has no deadline.
    assert log == [0.1, 0.1, 0.25]
    assert seen == [ticks.add(Clock().now, d) for d in (0, 100, 200, 450)]
    r.close()


def test_nothing_pending_sleeps_without_timeout(nic, fake_select):
    stack = FakeStack(wait=None)
    r, _ = make(stack, nic)
    log = fake_select(runner=r)
    assert r.run() is True
    assert log == [None]  # one sleep until a frame arrives: never a busy poll
    r.close()


def test_burst_bound_then_immediate_second_pass(nic, fake_select):
    stack = FakeStack()
    clock = Clock()
    r, _ = make(stack, nic, clock, burst=2)
    log = fake_select(clock, r)
    nic.inject(*[bytes([i]) * 20 for i in range(5)])
    r.step()
    assert len(stack.inputs) == 2  # the stack is polled after a bounded burst
    assert len(stack.polls) == 1
    r.run()
    assert [f[0] for _, f, _ in stack.inputs] == [0, 1, 2, 3, 4]
    assert log[0] == 0  # frames still queued: no sleep between bursts
    r.close()


def test_timeout_returns_false(nic, fake_select, monkeypatch):
    fake_now = [1000.0]
    monkeypatch.setattr(runner_mod.time, "monotonic", lambda: fake_now[0])
    stack = FakeStack(wait=2000)
    clock = Clock()
    r, _ = make(stack, nic, clock)
    log = fake_select(clock)

    def advancing(r_, w, x, timeout):
        log.append(timeout)
        fake_now[0] += timeout
        return [], [], []
    monkeypatch.setattr(runner_mod.select, "select", advancing)
    assert r.run(timeout_s=5) is False
    assert log == [2.0, 2.0, 1.0]
    r.close()


def test_stop_before_run_returns_at_once(nic, fake_select):
    stack = FakeStack(wait=10)
    r, _ = make(stack, nic)
    log = fake_select()
    r.stop()
    assert r.run() is True
    assert log == [] and stack.polls == []
    # The stop was consumed: the next run loops again.
    r.add_task(lambda now: r.stop())
    assert r.run() is True
    assert len(stack.polls) == 1
    r.close()


def test_stop_from_signal_handler_wakes_select(nic):
    # A real select() with no deadline: only the self-pipe written by stop() can end it.
    stack = FakeStack(wait=None)
    r, _ = make(stack, nic)
    old = signal.signal(signal.SIGALRM, lambda s, f: r.stop())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert r.run(timeout_s=60) is True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        r.close()


def test_faulty_nic_gets_frames_through_rx_and_delivers_when_due(nic, fake_select):
    stack = FakeStack()
    clock = Clock()
    faulty = FaultyNIC(nic, rx=FaultModel(delay_ms=30))
    r, iface = make(stack, faulty, clock)
    log = fake_select(clock, r)
    start = clock.now
    nic.inject(b"\xaa" * 64)
    r.run(until=lambda: stack.inputs, timeout_s=30)
    assert stack.inputs == [(iface, b"\xaa" * 64, ticks.add(start, 30))]
    assert log[0] == 0.03  # slept exactly until the delayed frame was due
    r.close()


def test_a_frame_a_faulty_nic_releases_is_input_before_the_stack_polls(nic, fake_select):
    # The delivered frame starts a 500 ms timer in the stack. The held frame comes out of
    # recv_into in the step it is due, before stack.poll(): the step's wait already has the
    # new timer, so the runner never sleeps on a stale "no timer" and needs no extra pass.
    class TimerOnInput(FakeStack):
        def input(self, iface, frame, now_ms):
            super().input(iface, frame, now_ms)
            self.wait = 500

    stack = TimerOnInput()
    clock = Clock()
    r, _ = make(stack, FaultyNIC(nic, rx=FaultModel(delay_ms=30)), clock)
    log = fake_select(clock, r)
    nic.inject(b"\x01" * 60)
    r.run(until=lambda: len(log) >= 2)
    assert log[:2] == [0.03, 0.5]
    r.close()


def test_faulty_nic_transmit_is_flushed_by_poll(nic, fake_select):
    clock = Clock()
    faulty = FaultyNIC(nic)

    class Replier(FakeStack):
        def input(self, iface, frame, now_ms):
            super().input(iface, frame, now_ms)
            iface.nic.send(b"reply:" + bytes(frame))

    stack = Replier()
    r, iface = make(stack, faulty, clock)
    fake_select(clock, r)
    nic.inject(b"ping")
    r.run(until=lambda: nic.sent, timeout_s=30)
    assert nic.sent == [b"reply:ping"]
    r.close()


def test_now_ms_wraps_like_ticks_ms(monkeypatch):
    monkeypatch.setattr(runner_mod.time, "monotonic_ns", lambda: (ticks.PERIOD * 3 + 7) * 10**6 + 999)
    assert runner_mod.now_ms() == 7


def test_close_releases_wake_pipe():
    r = Runner(FakeStack())
    fds = (r._wake_r, r._wake_w)
    r.close()
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
