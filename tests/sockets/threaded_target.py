"""The barenet target with the stack in its own thread (barenet_host.threaded): the same two
stacks on a virtual wire as conftest.BarenetTarget, but the simulator follows real time in a
StackThread, so the sockets are thread-safe and have fds that select, poll, epoll and
selectors watch. Used by the `tnet` fixture (cpython and barenet-threaded)."""

import time

from barenet.socket import Sockets
from barenet_host.threaded import RealTimeSim, StackThread
from barenet_host.vwire import Sim

SETTLE_S = 2.0


class ThreadedTarget:
    barenet = True
    srv_ip = "192.0.2.1"
    cli_ip = "192.0.2.2"

    def __init__(self, wait):
        self.sim = sim = Sim(start_ms=(1 << 30) - 5000)   # cross the tick wrap in the tests
        wire = sim.wire()
        a, _ = sim.host(wire, "02:00:00:00:00:01", self.srv_ip + "/24", profile="host")
        b, _ = sim.host(wire, "02:00:00:00:00:02", self.cli_ip + "/24", profile="host")
        self.stacks = (a, b)
        self.driver = StackThread(RealTimeSim(sim)).start()
        self.srv = Sockets(a, self.driver)
        self.cli = Sockets(b, self.driver)
        self.wait = wait      # the kernel target's: a real poll() on the socket's fd

    def settle(self):
        """Until no frame is in flight and no stack has output queued (bounded)."""
        end = time.monotonic() + SETTLE_S
        while time.monotonic() < end:
            with self.driver.lock:
                if self.sim._quiet() and not self.sim.pending():
                    return
            time.sleep(0.001)

    def close(self):
        self.driver.stop()
