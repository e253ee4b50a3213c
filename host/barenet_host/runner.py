"""The host event loop: the core's loop step (barenet.loop), then one select() until a frame
arrives on any NIC, another registered fd is readable, or the step's deadline comes.

The core never reads a clock or a device (DESIGN.md "The core is sans-I/O"); this loop does
both. It never busy-polls: with nothing pending it sleeps until a frame, an fd or stop().
"""

import errno
import os
import select
import time

from barenet import ticks
from barenet.loop import Loop


# accept() failures that leave the connection queued and the listener readable
_ACCEPT_NO_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
ACCEPT_BACKOFF_MS = 100


def accept_backoff(runner, sock, e):
    """After sock.accept() raised e: True when it was for want of descriptors or memory, and
    then sock is left unwatched for ACCEPT_BACKOFF_MS (Runner.pause_fd), its connection queued
    until a descriptor is free; False for an error about that one connection (ECONNABORTED)."""
    if e.errno not in _ACCEPT_NO_RESOURCES:
        return False
    runner.pause_fd(sock.fileno(), ACCEPT_BACKOFF_MS)
    return True


def now_ms():
    """CPython's monotonic clock in ms, reduced to the period MicroPython's ticks_ms() wraps at."""
    return (time.monotonic_ns() // 1000000) % ticks.PERIOD


class Runner:
    """Drives one Stack: every interface's NIC must have fileno() (barenet/nic.py).

    `add_task(fn)`: fn(now_ms) runs in every step, returns ms until it next wants to run, or
    None. `add_fd(fd, on_ready)`: on_ready(now_ms) runs when fd is readable, before the next
    step (a control socket, a serial line); `remove_fd(fd)`. `add_writer(fd, on_ready)` /
    `remove_writer(fd)` likewise for an fd that is to become writable (a nonblocking
    connect, a full socket buffer: the NAT's host sockets). `stop()` may be called from a
    signal handler.
    """

    def __init__(self, stack, burst=64, clock=now_ms):
        self.stack = stack
        self.loop = Loop(stack, burst)
        self.clock = clock
        self._fds = {}  # fd -> on_ready(now_ms)
        self._writers = {}  # fd -> on_ready(now_ms), for writability
        self._paused = {}  # fd -> (on_ready, when to watch it again): pause_fd
        self.loop.add_task(self._resume)
        self._stopping = False
        # Self-pipe: a signal arriving inside select() only sets a flag, and PEP 475 restarts
        # select(); the byte written by stop() is what actually wakes it.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def add_task(self, fn):
        self.loop.add_task(fn)

    def add_fd(self, fd, on_ready):
        self._fds[fd] = on_ready

    def remove_fd(self, fd):
        self._fds.pop(fd, None)
        self._paused.pop(fd, None)

    def pause_fd(self, fd, ms):
        """Stop watching fd for ms, then watch it again. For a listener whose accept() fails
        for want of descriptors (EMFILE): the connection stays queued and the fd readable, so
        watching it on would spin the CPU (libuv and nginx back off the same way)."""
        on_ready = self._fds.pop(fd, None)
        if on_ready is not None:
            self._paused[fd] = (on_ready, ticks.add(self.clock(), ms))

    def _resume(self, now):
        wait = None
        for fd, (on_ready, at) in list(self._paused.items()):
            if ticks.due(at, now):
                del self._paused[fd]
                self._fds[fd] = on_ready
            else:
                wait = ticks.earliest(wait, ticks.until(at, now))
        return wait

    def add_writer(self, fd, on_ready):
        self._writers[fd] = on_ready

    def remove_writer(self, fd):
        self._writers.pop(fd, None)

    def stop(self):
        self._stopping = True
        self.wake()

    def wake(self):
        """End the current or next wait() at once; from any thread or a signal handler."""
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: a wakeup is already pending

    def close(self):
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def pending(self):
        """Stack.pending(): what user calls between steps queued wants a step at once."""
        return self.stack.pending()

    def step(self):
        """One loop step now; returns ms until the next wanted step (None: only a frame)."""
        return self.loop.step(self.clock())

    def run(self, until=None, timeout_s=None):
        """Loop until stop(), until() is true, or timeout_s seconds pass.

        Returns False only on timeout. until() is checked after every step.
        """
        end = None if timeout_s is None else time.monotonic() + timeout_s
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
            self.wait(timeout)
        self._stopping = False
        self._drain_wake()
        return True

    def wait(self, timeout):
        """Sleep until a frame arrives on any NIC, a registered fd is readable (its on_ready
        runs), stop() is called, or timeout seconds pass (None: no limit)."""
        # Rebuilt each time: fds come and go (a serial port replugged, a client closed).
        fds = [i.nic.fileno() for i in self.stack.interfaces]
        fds.extend(self._fds)
        fds.append(self._wake_r)
        ready, writable, _ = select.select(fds, list(self._writers), [], timeout)
        if self._wake_r in ready:
            self._drain_wake()
        now = None
        for fds, ready in ((self._fds, ready), (self._writers, writable)):
            for fd in ready:
                on_ready = fds.get(fd)   # an earlier callback may have removed it
                if on_ready is not None:
                    if now is None:
                        now = self.clock()
                    on_ready(now)

    def _drain_wake(self):
        try:
            while os.read(self._wake_r, 64):
                pass
        except BlockingIOError:
            pass


class RunnerDriver:
    """The socket layer's driver (barenet/socket.py) on the host, for a program whose
    blocking socket calls run the stack in their own thread: frames already waiting are taken
    in with one loop step, and the call looks again; otherwise each wait is a loop step that
    reads no frames, one select() until a frame, the step's deadline or the call's timeout,
    and a whole loop step."""

    def __init__(self, runner):
        self.runner = runner

    def now(self):
        return self.runner.clock()

    def step(self, timeout_ms):
        r = self.runner
        fds = [i.nic.fileno() for i in r.stack.interfaces]
        if select.select(fds, [], [], 0)[0]:
            r.step()     # frames are waiting: take them in, and the caller looks again
            return
        # Nothing waiting: what the caller queued goes out, then sleep. That step reads no
        # frames: one taken in there would be slept past until the frame after it, which
        # may never come (the peer's FIN, then silence), and it may be the caller's answer
        wait = ticks.earliest(r.loop.step(r.clock(), read=False), timeout_ms)
        r.wait(None if wait is None else max(wait, 0) / 1000)
        # What arrived is input before the caller looks again; the rest of a step (timers,
        # the ACK the frame owes) waits for the call's next step, which sends that ACK with
        # whatever the program answers meanwhile: one loop step per request and reply, as an
        # app in the loop has (bench/socket_layer.py). Frames found waiting (above) get a
        # whole step, so a stream of them is still acknowledged as it comes.
        r.loop.take_in(r.clock())

    async def astep(self, wake, busy):
        """barenet.aio's seam: one loop step, then wait in the event loop (add_reader on the
        NICs' fds) for a frame, the step's deadline or wake. The Runner's own fds
        (add_fd) are not watched here: a program on asyncio registers its own."""
        import asyncio

        r = self.runner
        wait = r.step()
        await asyncio.sleep(0)        # the tasks the step woke run before we sleep
        if wake.is_set() or wait == 0:
            wake.clear()
            return
        loop = asyncio.get_running_loop()
        fds = [i.nic.fileno() for i in r.stack.interfaces]
        for fd in fds:
            loop.add_reader(fd, wake.set)
        woken = asyncio.ensure_future(wake.wait())
        try:
            # asyncio.wait, not wait_for: Python 3.11's wait_for swallows a cancellation that
            # comes as the wait ends (bpo-42130), and the pump would outlive asyncio.run
            await asyncio.wait((woken,), timeout=None if wait is None else wait / 1000)
        finally:
            woken.cancel()
            for fd in fds:
                loop.remove_reader(fd)
        wake.clear()
