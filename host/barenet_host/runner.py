"""The host event loop: frames from fd-based NICs into a Stack, timers and tasks, one select().

The core never reads a clock or a device (DESIGN.md "The core is sans-I/O"); this loop does
both. Each wakeup it reads a bounded burst of frames from every NIC into one preallocated
buffer, runs the tasks, polls the stack, and sleeps in select() until a frame arrives or the
earliest deadline anyone reported. It never busy-polls: with nothing pending it sleeps until a
frame or stop().
"""

import os
import select
import time

from barenet import ticks

_ETH_HDR = 14


def now_ms():
    """CPython's monotonic clock in ms, reduced to the period MicroPython's ticks_ms() wraps at."""
    return (time.monotonic_ns() // 1000000) % ticks.PERIOD


class Runner:
    """Drives one Stack.

    `add(iface, nic)` registers an fd-based NIC (fileno(), recv_into(buf)); a NIC with an
    `rx(frame, now_ms)` method (barenet_host.faults.FaultyNIC) gets received frames through rx()
    and is polled with `poll(now_ms, deliver)` after the stack. `add_task(fn)`: fn(now_ms)
    returns ms until it next wants to run, or None. `stop()` may be called from a signal handler.
    """

    def __init__(self, stack, burst=64, clock=now_ms):
        self.stack = stack
        self.burst = burst  # frames read per NIC per wakeup, so one busy NIC cannot starve timers
        self.clock = clock
        self._nics = []  # (iface, nic, is_faulty)
        self._tasks = []
        self._deliverers = {}  # iface -> deliver(frame) for a FaultyNIC's poll()
        self._delivered = 0
        self._now = 0
        self._buf = bytearray(0)
        self._mv = memoryview(self._buf)
        self._stopping = False
        # Self-pipe: a signal arriving inside select() only sets a flag, and PEP 475 restarts
        # select(); the byte written by stop() is what actually wakes it.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def add(self, iface, nic=None):
        nic = iface.nic if nic is None else nic
        faulty = hasattr(nic, "rx")
        self._nics.append((iface, nic, faulty))
        if faulty:
            self._deliverers[iface] = self._deliverer(iface)
        size = iface.mtu + _ETH_HDR
        if size > len(self._buf):
            # Sized once at setup: the receive path then allocates nothing but the slice view.
            self._buf = bytearray(size)
            self._mv = memoryview(self._buf)

    def _deliverer(self, iface):
        def deliver(frame):
            self._delivered += 1
            self.stack.input(iface, frame, self._now)
        return deliver

    def add_task(self, fn):
        self._tasks.append(fn)

    def stop(self):
        self._stopping = True
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: a wakeup is already pending

    def close(self):
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def _read(self, now):
        """Read up to `burst` frames from each NIC; True if some NIC may still have more."""
        stack = self.stack
        buf = self._buf
        mv = self._mv
        more = False
        for iface, nic, faulty in self._nics:
            for _ in range(self.burst):
                n = nic.recv_into(buf)
                if not n:
                    break
                if faulty:
                    nic.rx(mv[:n], now)
                else:
                    stack.input(iface, mv[:n], now)
            else:
                more = True
        return more

    def step(self):
        """One pass without sleeping; returns ms until the next wanted pass (None: only a frame)."""
        now = self._now = self.clock()
        wait = 0 if self._read(now) else None
        for task in self._tasks:
            wait = ticks.earliest(wait, task(now))
        # After the tasks, so timers they started (ARP for a reply, say) count in the wait.
        wait = ticks.earliest(wait, self.stack.poll(now))
        for iface, nic, faulty in self._nics:
            if faulty:
                before = self._delivered
                wait = ticks.earliest(wait, nic.poll(now, self._deliverers[iface]))
                if self._delivered != before:
                    wait = 0  # the stack saw input after its poll(): poll it again now
        return wait

    def run(self, until=None, timeout_s=None):
        """Loop until stop(), until() is true, or timeout_s seconds pass.

        Returns False only on timeout. until() is checked after every pass.
        """
        end = None if timeout_s is None else time.monotonic() + timeout_s
        fds = [nic.fileno() for _, nic, _ in self._nics]
        fds.append(self._wake_r)
        while not self._stopping:
            wait = self.step()
            if until is not None and until():
                return True
            if self._stopping:
                break
            timeout = None if wait is None else wait / 1000
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                timeout = left if timeout is None else min(timeout, left)
            ready, _, _ = select.select(fds, [], [], timeout)
            if self._wake_r in ready:
                self._drain_wake()
        self._stopping = False
        self._drain_wake()
        return True

    def _drain_wake(self):
        try:
            while os.read(self._wake_r, 64):
                pass
        except BlockingIOError:
            pass
