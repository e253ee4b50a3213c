"""The one loop step (barenet.loop): its order, its bounds, and that the host runner and the
virtual-wire simulator really run the same step (only their waiting differs)."""

import socket

from barenet import ticks
from barenet.loop import Loop
from barenet.nic import Wrapper
from barenet.stack import Stack
from barenet_host.runner import Runner
from barenet_host.vwire import Sim
from peer import ListNIC

MAC = "02:00:00:00:00:02"


class Spy(Wrapper):
    """Middleware that logs every call the loop step makes on it."""

    def __init__(self, nic, log):
        Wrapper.__init__(self, nic)
        self.log = log

    def poll(self, now):
        self.log.append("nic.poll")
        return None

    def recv_into(self, buf):
        n = self.nic.recv_into(buf)
        self.log.append("recv %d" % n)
        return n

    def send(self, frame):
        self.nic.send(frame)


class SpyStack(Stack):
    def __init__(self, log, **kw):
        Stack.__init__(self, **kw)
        self.log = log

    def input(self, iface, frame, now_ms):
        self.log.append("input")
        Stack.input(self, iface, frame, now_ms)

    def poll(self, now_ms):
        self.log.append("stack.poll")
        return Stack.poll(self, now_ms)


def one_step_with_a_frame(make_world):
    log = []
    stack = SpyStack(log)
    step, inject = make_world(stack, log)
    inject(b"\x00" * 60)
    del log[:]
    step()
    return log


def runner_world(stack, log):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setblocking(False)

    class SockNIC:
        def fileno(self):
            return a.fileno()

        def recv_into(self, buf):
            try:
                return a.recv_into(buf)
            except BlockingIOError:
                return 0

        def send(self, frame):
            pass

    stack.add_interface(Spy(SockNIC(), log), mac=MAC, ip="192.0.2.2/24", now_ms=0)
    r = Runner(stack, clock=lambda: 5)
    r.add_task(lambda now: log.append("task"))
    return r.step, b.send


def sim_world(stack, log):
    sim = Sim(5)
    wire = sim.wire()
    stack.add_interface(Spy(wire.nic(), log), mac=MAC, ip="192.0.2.2/24", now_ms=5)
    sim.add_stack(stack)
    sim.add_task(lambda now: log.append("task"), stack)
    other = wire.nic()
    return (lambda: sim.run(max_steps=1, max_ms=0)), other.send


def test_the_runner_and_the_simulator_run_the_same_step_in_the_same_order():
    want = ["nic.poll", "recv 60", "input", "recv 0", "task", "stack.poll", "nic.poll"]
    assert one_step_with_a_frame(runner_world) == want
    assert one_step_with_a_frame(sim_world) == want


def test_a_step_without_reading_leaves_the_frames_and_does_the_rest():
    # RunnerDriver's step before it sleeps (host/barenet_host/runner.py): what user calls
    # queued goes out, the frames stay for select() to see.
    log = []
    stack = SpyStack(log)
    step, inject = runner_world(stack, log)
    inject(b"\x00" * 60)
    del log[:]
    step.__self__.loop.step(5, read=False)          # the runner's own loop
    assert log == ["nic.poll", "task", "stack.poll", "nic.poll"]
    del log[:]
    step()
    assert log[:3] == ["nic.poll", "recv 60", "input"]


def test_both_drive_a_barenet_loop():
    stack = Stack()
    assert type(Runner(stack).loop) is Loop
    sim = Sim()
    assert type(sim.add_stack(stack)) is Loop and sim.loop(stack) is sim.loop(stack)


def Queue(n):
    """A pull NIC with n frames waiting."""
    return ListNIC([bytes([i]) * 60 for i in range(n)])


def test_a_busy_nic_is_read_a_burst_at_a_time_and_asks_for_another_step():
    stack = Stack()
    q = Queue(5)
    stack.add_interface(q, mac=MAC, ip="192.0.2.2/24")
    loop = Loop(stack, burst=2)
    assert loop.step(0) == 0 and len(q.waiting) == 3      # more waiting: step again at once
    assert loop.step(0) == 0 and len(q.waiting) == 1
    assert loop.step(0) is None and not q.waiting          # nothing pending: only a frame wakes
    assert stack.stats["eth"]["rx"] == 5


def test_the_step_reports_the_earliest_of_tasks_stack_and_nic_polls():
    stack = Stack()
    q = Queue(0)
    q.poll = lambda now: 70
    stack.add_interface(q, mac=MAC, ip="192.0.2.2/24")
    loop = Loop(stack)
    loop.add_task(lambda now: 500)
    assert loop.step(0) == 70
    q.poll = lambda now: None
    assert loop.step(0) == 500
    stack.udp.bind().sendto(b"x", ("192.0.2.1", 9))       # ARP retry timer: 1 s
    assert loop.step(0) == 500
    loop.tasks[:] = []
    assert loop.step(0) == 1000


def test_receive_buffer_fits_the_largest_interface_and_is_reused():
    stack = Stack()
    q = Queue(1)
    stack.add_interface(q, mac=MAC, ip="192.0.2.2/24", mtu=9000)
    loop = Loop(stack)
    loop.step(0)
    buf = loop._buf
    assert len(buf) == 9014
    q.waiting.append(b"\x01" * 60)
    loop.step(0)
    assert loop._buf is buf


def test_runner_add_fd_calls_back_when_readable_before_the_next_step():
    stack = Stack()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setblocking(False)
    seen = []
    now = [ticks.PERIOD - 1]
    r = Runner(stack, clock=lambda: now[0])
    r.add_fd(a.fileno(), lambda t: seen.append((a.recv(100), t)))
    r.add_task(lambda t: r.stop() if seen else None)
    b.send(b"control")
    assert r.run(timeout_s=5) is True
    assert seen == [(b"control", ticks.PERIOD - 1)]
    r.remove_fd(a.fileno())
    r.loop.tasks[:] = []
    b.send(b"ignored")
    assert r.run(timeout_s=0.05) is False and len(seen) == 1
    r.close()
    a.close()
    b.close()
