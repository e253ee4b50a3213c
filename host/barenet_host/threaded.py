"""The stack in a thread of its own (CPython): thread-safe barenet sockets, and a real fd per
socket so that select.select, select.poll, select.epoll and selectors watch barenet sockets
as they watch kernel ones (issue 9 items 4 and 5).

    drv = StackThread(runner)            # a Runner over a TAP (runner.py), or
    drv = StackThread(RealTimeSim(sim))  # the simulator, its clock following real time
    net = Sockets(stack, drv)            # or barenet.socket.install(stack, drv)
    drv.start(); ...; drv.stop()         # also `with StackThread(...) as drv:`

The stack thread steps the world (the Runner's or the Sim's loop step) under one lock, then
waits with the lock released until a frame, the next timer or a kick. Every public method of
every socket (any `Socket` subclass: `guard()` below, called from Socket.__init__) and of the
Sockets module object runs under the same lock, so the core only ever sees one thread. A blocking call waits on its socket's
condition (the driver's `step()`, socket.py's seam), which is signalled when its endpoint's
readiness changes: the endpoint's `on_event` (readiness.py), called inside the stack's input
or poll, only notes the socket; after the step the thread notifies the noted sockets and
updates their fds. After each call the stack thread is kicked, so that what the call queued
(data, a SYN, a window update) goes out now, not at the next timer.

fileno(): a kernel AF_UNIX SOCK_DGRAM socketpair per socket, made at the first fileno() and
closed with the socket. The user's end is readable iff the stack queued a token on it, and
writable unless the stack "plugged" it: a datagram sent from the user's end and left unread in
the other end makes the user's end unwritable, because Linux's unix_dgram_poll() reports
writable iff the sender's unread bytes (sk_wmem_alloc) are at most a quarter of its
SO_SNDBUF, set here to the minimum (4608). (The peer's queue length, max_dgram_qlen, does not
count for a socketpair: unix_dgram_poll checks it only when the peer is not connected back.)
Both are level-triggered, so select, poll, epoll and selectors all see the same state.
Readable means what select() counts as readable on a kernel socket: POLLIN, POLLHUP or
POLLERR in the socket's `_poll()`; writable: POLLOUT or POLLERR. A poll() caller therefore sees
POLLIN/POLLOUT for a hung-up or failed socket where the kernel shows POLLHUP/POLLERR too; the
next call reports the error, as on Linux. Cost (this machine): 2 fds per watched socket, about
5 us to make and free the pair, about 1 us per readiness change.
"""

import inspect
import socket as _kernel
import threading
import weakref

from barenet.socket import POLLIN, POLLOUT, POLLERR, POLLHUP, Socket
from barenet_host.runner import now_ms
from barenet_host.vwire import RealTimeDriver

_READABLE = POLLIN | POLLHUP | POLLERR    # select()'s POLLIN_SET on Linux
_WRITABLE = POLLOUT | POLLERR             # and its POLLOUT_SET
_PLUG = b"\0" * 2048    # > SO_SNDBUF / 4 once queued (skb overhead included): unwritable
_JOIN_S = 10


class _Watch:
    """What the driver keeps per socket: its condition and, after fileno(), its fd pair."""

    def __init__(self, drv, sock):
        self.drv = drv
        self.sock = sock
        self.cond = threading.Condition(drv.lock)
        self.note = self._note     # one bound method, so `ep.on_event is note` holds
        self.user = self.mine = None
        self.readable = False
        self.writable = True

    def _note(self, ep):
        self.drv._dirty.add(self)

    def open(self):
        self.user, self.mine = _kernel.socketpair(_kernel.AF_UNIX, _kernel.SOCK_DGRAM)
        self.user.setsockopt(_kernel.SOL_SOCKET, _kernel.SO_SNDBUF, 1)   # Linux's minimum
        self.user.setblocking(False)
        self.mine.setblocking(False)
        self.sync()

    def sync(self):
        """Make the fd's readiness the socket's _poll() now."""
        if self.user is None:
            return
        m = self.sock._poll()
        r = bool(m & _READABLE)
        w = bool(m & _WRITABLE)
        try:
            if r != self.readable:
                self.readable = r
                if r:
                    self.mine.send(b"r")
                else:
                    self.user.recv(1)
            if w != self.writable:
                self.writable = w
                if w:
                    self.mine.recv(len(_PLUG))
                else:
                    self.user.send(_PLUG)
        except BlockingIOError:
            pass    # someone read or wrote the user's fd: it is as wanted already

    def close(self):
        if self.user is not None:
            self.user.close()
            self.mine.close()
            self.user = self.mine = None


class StackThread:
    """The socket layer's driver (barenet/socket.py) for a stack stepped in its own thread.

    world: what the thread steps, with `step() -> ms until the next step (None: only on a
    frame)`, `pending()` (work for the next step at once: Stack.pending), `wait(timeout_s)`
    (until a frame, wake() or the timeout), `wake()` (from any thread) and `clock() -> ms` on
    the ticks scale: a Runner, or a RealTimeSim."""

    def __init__(self, world):
        self.world = world
        self.lock = threading.RLock()     # re-entrant: sendall() calls send(), and so on
        self._idle = threading.Condition(self.lock)
        self._dirty = set()               # _Watch of sockets whose endpoint noted a change
        self._watches = weakref.WeakSet()   # those with an fd: freed at stop()
        self._waiting = set()             # _Watch of the calls blocked in step()
        self._cur = None                  # the socket whose call holds the lock
        self._kicked = False
        self._stopping = False
        self._guards = {}                 # class -> its guarded subclass
        self._thread = None
        self.error = None                 # what killed the stack thread, if anything

    # -- the thread ----------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._run, name="barenet-stack", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with self.lock:
            self._stopping = True
            self.world.wake()
        if self._thread is not None:
            self._thread.join(_JOIN_S)
            self._thread = None
        with self.lock:
            for w in list(self._watches):
                w.close()
            self._wake_all()     # a call still blocked learns that nothing runs the stack

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        world = self.world
        try:
            while True:
                with self.lock:
                    if self._stopping:
                        return
                    self._kicked = False
                    wait = world.step()
                    if world.pending():
                        wait = 0    # datagrams to ourselves (loopback) wait for a poll
                    self._flush()
                    # A Sockets call waits for any change (a DNS lookup's answer is no
                    # socket's event): it looks again after every step
                    self._idle.notify_all()
                world.wait(None if wait is None else max(wait, 0) / 1000)
        except BaseException as e:    # reported to every caller, never silently lost
            with self.lock:
                self.error = e
                self._stopping = True
                self._wake_all()
            raise

    def _wake_all(self):
        for w in self._waiting:
            w.cond.notify_all()
        self._idle.notify_all()

    def _flush(self):
        """Tell the sockets whose endpoint changed: their fds, then their waiters."""
        if not self._dirty:
            return
        dirty = self._dirty
        self._dirty = set()
        for w in dirty:
            w.sync()
            w.cond.notify_all()
        self._idle.notify_all()

    def _kick(self):
        if not self._kicked:
            self._kicked = True
            self.world.wake()

    # -- socket.py's driver interface ----------------------------------------------------

    def now(self):
        return self.world.clock()

    def step(self, timeout_ms):
        """Inside a blocking call (the lock held): wait until the calling socket's endpoint
        changes or timeout_ms passes. A non-blocking call (0) has nothing to wait for: the
        stack thread moves the stack."""
        if self.error is not None:
            raise RuntimeError("the barenet stack thread died") from self.error
        if self._thread is None:
            raise RuntimeError("no StackThread runs the stack (not started, or stopped)")
        if timeout_ms == 0:
            return
        sock = self._cur
        if sock is None:      # a Sockets call (a future DNS lookup): any change may be it
            self._flush()
            self._kick()
            self._idle.wait(None if timeout_ms is None else timeout_ms / 1000)
            return
        w = self._after(sock)
        self._waiting.add(w)
        try:
            w.cond.wait(None if timeout_ms is None else timeout_ms / 1000)
        finally:
            self._waiting.discard(w)
            self._cur = sock    # other threads' calls ran while this one waited

    def guard(self, cls):
        """cls with every public method taking the lock: Socket.__init__ calls this for
        every socket class, Sockets.__init__ for the module's own calls (socket(), and
        those that reach the core: socketpair, a DNS lookup)."""
        g = self._guards.get(cls)
        if g is not None:
            return g
        if cls in self._guards.values():
            return cls
        ns = {"_watch": None}
        sock = issubclass(cls, Socket)
        for name in dir(cls):
            fn = inspect.getattr_static(cls, name)
            if not name.startswith("_") and inspect.isfunction(fn):
                ns[name] = self._locked(fn) if sock else self._locked_module(fn)
        g = type(cls.__name__, (cls,), ns)
        g.__qualname__ = cls.__qualname__
        g.__module__ = cls.__module__
        self._guards[cls] = g
        return g

    def fileno(self, sock):
        """The fd select/poll/selectors watch for sock (called under the lock)."""
        w = self._watch(sock)
        if w.user is None:
            w.open()
            self._watches.add(w)
        return w.user.fileno()

    # -- inside each call ----------------------------------------------------------------

    def _locked(self, fn):
        def call(sock, *args, **kw):
            with self.lock:
                prev = self._cur
                self._cur = sock
                try:
                    return fn(sock, *args, **kw)
                finally:
                    self._cur = prev
                    self._after(sock)
        call.__name__ = fn.__name__
        call.__doc__ = fn.__doc__
        return call

    def _locked_module(self, fn):
        def call(net, *args, **kw):
            with self.lock:
                try:
                    return fn(net, *args, **kw)
                finally:
                    self._flush()
                    self._kick()
        call.__name__ = fn.__name__
        call.__doc__ = fn.__doc__
        return call

    def _watch(self, sock):
        w = sock._watch
        if w is None:
            w = sock._watch = _Watch(self, sock)
        return w

    def _after(self, sock):
        """After a call (or before a blocking call waits): its endpoint reports to us, its
        fd shows what the call changed, local endpoints' notes are delivered (AF_UNIX has no
        input pass: the peer's call is what changes them), and the stack thread runs."""
        w = self._watch(sock)
        if sock._closed:
            w.close()
            self._watches.discard(w)
            w.cond.notify_all()
        else:
            ep = sock._ep
            if ep is not None and ep.on_event is not w.note:
                ep.on_event = w.note
            w.sync()
        self._flush()
        self._kick()
        return w


class RealTimeSim:
    """The simulator (vwire.Sim) as a StackThread's world: its clock follows the monotonic
    clock from the instant this is made (vwire.RealTimeDriver), so timeouts, retransmissions
    and TIME_WAIT take real time, and frames on the wires move as the stack thread steps."""

    def __init__(self, sim):
        self.sim = sim
        self._rt = RealTimeDriver(sim, now_ms, None)
        self.clock = self._rt.now
        self.step = self._rt.catch_up
        self.pending = sim.pending
        self._woken = threading.Event()


    def wait(self, timeout):
        self._woken.wait(timeout)
        self._woken.clear()     # a wake() after the wait returned is served by this step

    def wake(self):
        self._woken.set()
