"""A frame relay between two host devices with the NIC protocol (barenet/nic.py): each frame
read from one is sent to the other, unchanged. With a TAP on one side and a UDP device on the
other, a board (or a MicroPython VM) whose barenet stack speaks through a UDP tunnel
(firmware/drivers/udp_link.py) becomes a host on the TAP's link, in reach of kernel peers in a
network namespace: the board side of `barenet bridge`'s `udp:` device (issue 10).

    relay = Relay(tap, UDPDevice(5555))
    relay.run(timeout_s=30)           # or in a thread; relay.stop() from anywhere

The waiting is the host runner's (runner.py: select over the registered fds, a self-pipe for
stop()), around a stack with no interface: the relay moves frames, it is no host on the link.
A device with a `poll(now)` (a SLIP NIC: output the line could not take yet, a serial port
to reopen, nic.py) is polled every step, as the loop step polls a stack's NICs, and its fd
is watched as it comes and goes.
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
        self._ways = ((a, b, "a_to_b"), (b, a, "b_to_a"))
        self._fds = [None, None]     # the fd watched for each way's source
        self._watch()
        self.runner.add_task(self._poll)

    def _watch(self):
        for i, (src, dst, key) in enumerate(self._ways):
            fd = src.fileno()
            if fd != self._fds[i]:
                if self._fds[i] is not None:
                    self.runner.remove_fd(self._fds[i])
                if fd is not None:
                    self.runner.add_fd(fd, lambda now, w=(src, dst, key): self._move(*w))
                self._fds[i] = fd

    def _poll(self, now):
        # A runner task: what a device decoded but we have not taken, what it must still
        # write, its reopening; ms until a device wants polling again
        wait = None
        for src, dst, key in self._ways:
            self._move(src, dst, key)
        for src, _, _ in self._ways:
            poll = getattr(src, "poll", None)
            if poll is not None:
                w = poll(now)
                if w is not None and (wait is None or w < wait):
                    wait = w
        self._watch()
        return wait

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
