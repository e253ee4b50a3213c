"""A frame relay between two host devices with the NIC protocol (barenet/nic.py): each frame
read from one is sent to the other, unchanged. With a TAP on one side and a UDP device on the
other, a board (or a MicroPython VM) whose barenet stack speaks through a UDP tunnel
(firmware/drivers/udp_link.py) becomes a host on the TAP's link, in reach of kernel peers in a
network namespace: the board side of `barenet bridge`'s `udp:` device (issue 10).

    relay = Relay(tap, UDPDevice(5555))
    relay.run(timeout_s=30)           # or in a thread; relay.stop() from anywhere

The waiting is the host runner's (runner.py: select over the registered fds, a self-pipe for
stop()), around a stack with no interface: the relay moves frames, it is no host on the link.
"""

from barenet.stack import Stack

from .runner import Runner


class Relay:
    def __init__(self, a, b, burst=64):
        self.a = a
        self.b = b
        self.burst = burst      # frames moved per device per wakeup, so neither side starves
        self.frames = {"a_to_b": 0, "b_to_a": 0}
        self._buf = bytearray(max(self._frame_max(a), self._frame_max(b)))
        self.runner = Runner(Stack())
        self.runner.add_fd(a.fileno(), lambda now: self._move(a, b, "a_to_b"))
        self.runner.add_fd(b.fileno(), lambda now: self._move(b, a, "b_to_a"))

    @staticmethod
    def _frame_max(nic):
        return getattr(nic, "mtu", 1500) + 14

    def _move(self, src, dst, key):
        mv = memoryview(self._buf)
        for _ in range(self.burst):
            n = src.recv_into(self._buf)
            if not n:
                return
            dst.send(mv[:n])
            self.frames[key] += 1

    def run(self, timeout_s=None):
        """Relay until stop() or timeout_s seconds pass; -> False only on timeout."""
        return self.runner.run(timeout_s=timeout_s)

    def stop(self):
        self.runner.stop()

    def close(self):
        self.runner.close()
