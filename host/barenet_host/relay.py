"""A frame relay between two host devices with the NIC protocol (barenet/nic.py): each frame
read from one is sent to the other, unchanged. With a TAP on one side and a UDP device on the
other, a board (or a MicroPython VM) whose barenet stack speaks through a UDP tunnel
(firmware/drivers/udp_link.py) becomes a host on the TAP's link, in reach of kernel peers in a
network namespace: the board side of `barenet bridge`'s `udp:` device (issue 10).

    relay = Relay(tap, UDPDevice(5555))
    relay.run(timeout_s=30)           # or in a thread; relay.stop() from anywhere
"""

import os
import select
import time


class Relay:
    def __init__(self, a, b, burst=64):
        self.a = a
        self.b = b
        self.burst = burst      # frames moved per device per wakeup, so neither side starves
        self.frames = {"a_to_b": 0, "b_to_a": 0}
        self._buf = bytearray(max(self._frame_max(a), self._frame_max(b)))
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

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
        end = None if timeout_s is None else time.monotonic() + timeout_s
        fa, fb = self.a.fileno(), self.b.fileno()
        try:
            while not self._stopping:
                wait = None
                if end is not None:
                    wait = end - time.monotonic()
                    if wait <= 0:
                        return False
                ready, _, _ = select.select([fa, fb, self._wake_r], [], [], wait)
                if fa in ready:
                    self._move(self.a, self.b, "a_to_b")
                if fb in ready:
                    self._move(self.b, self.a, "b_to_a")
            return True
        finally:
            self._stopping = False
            self._drain_wake()

    def _drain_wake(self):
        try:
            while os.read(self._wake_r, 64):
                pass
        except BlockingIOError:
            pass

    def stop(self):
        self._stopping = True
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass    # a wakeup is already pending

    def close(self):
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
