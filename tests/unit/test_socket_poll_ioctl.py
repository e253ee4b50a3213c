"""The MicroPython poll ioctl (socket.py, MP_STREAM_POLL) moves the stack, at most one
non-blocking driver step per ms of the driver's clock however many sockets are polled (the
unix port asks every registered object each 1 ms pass, mcu-facts.md 2(b)); and RealTimeDriver,
the simulator following a real clock, which such a poll loop needs."""

from barenet.socket import Sockets, POLLIN, POLLOUT, _MP_STREAM_POLL
from barenet_host.vwire import Sim, RealTimeDriver


class CountingDriver:
    def __init__(self):
        self.ms = 1000
        self.steps = []

    def now(self):
        return self.ms

    def step(self, timeout_ms):
        self.steps.append(timeout_ms)


def test_poll_ioctl_steps_once_per_ms_for_all_sockets():
    sim = Sim()
    a, _ = sim.host(sim.wire(), "02:00:00:00:00:01", "192.0.2.1/24")
    drv = CountingDriver()
    net = Sockets(a, drv)
    socks = [net.socket(net.AF_INET, net.SOCK_DGRAM) for _ in range(10)]
    for s in socks:
        assert s.ioctl(_MP_STREAM_POLL, POLLIN | POLLOUT) == POLLOUT
    assert drv.steps == [0]                 # one non-blocking step for the ten
    drv.ms += 1
    for s in socks:
        s.ioctl(_MP_STREAM_POLL, POLLIN)
    assert drv.steps == [0, 0]
    for s in socks:
        s.close()


def test_real_time_driver_clock_follows_the_given_clock_across_the_wrap():
    sim = Sim(start_ms=(1 << 30) - 5)
    real = [7]
    slept = []
    drv = RealTimeDriver(sim, lambda: real[0], slept.append)
    assert drv.now() == (1 << 30) - 5
    real[0] += 8                            # 8 ms of real time: the tick clock wraps
    assert drv.now() == 3
    assert drv.catch_up() is None and sim.ms == (1 << 30) + 3
    drv.step(40)                            # nothing scheduled: sleeps the call's timeout
    assert slept == [40]
