"""Blocking programs taking turns on one simulator: a server's main() and a client's main(),
each written against `import socket` as for a kernel, run over barenet on a virtual wire.

Each program runs in a thread of its own, but only one runs at a time: a program hands over at
every wait of a blocking call (the socket driver's step), so the world stays single-threaded
and deterministic, as the sans-I/O core needs. While program A waits, B runs until it waits
too; once every program has looked at a world where nothing is due now, the virtual clock
jumps to the earliest of every program's deadlines and the world's next event. Each program has its own stack's socket module (barenet.socket.Sockets), made the
module-level one (install()) whenever the program holds the turn.

    turns = Turns(sim)
    turns.install(server_stack)             # before importing the programs' modules
    import http_server, http_client
    turns.spawn(server_stack, http_server.main, ["--port", "8080", "--count", "1"])
    turns.spawn(client_stack, http_client.main, ["http://192.0.2.1:8080/"])
    results = turns.run(max_ms=60000)      # each program's return value, in spawn order

Runs on CPython and in the MicroPython VM (only `_thread` locks).
"""

import _thread

from barenet import socket as bsock


class Deadlock(RuntimeError):
    """Every program waits without a timeout and nothing is scheduled: a real runtime would
    hang for ever, which in a simulation is a test's bug."""


class _Program:
    def __init__(self, net, fn, args):
        self.net = net
        self.fn = fn
        self.args = args
        self.lock = _thread.allocate_lock()
        self.lock.acquire()          # released when it is this program's turn
        self.deadline = None         # unwrapped ms its latest wait ends at (None: never)
        self.done = False
        self.result = None


class TurnDriver:
    """The socket driver (barenet/socket.py) of one program: waiting is handing over."""

    def __init__(self, turns):
        self.turns = turns

    def now(self):
        return self.turns.sim.now

    def step(self, timeout_ms):
        self.turns._wait(timeout_ms)


class Turns:
    def __init__(self, sim):
        self.sim = sim
        self.driver = TurnDriver(self)
        self._programs = []
        self._nets = {}
        self._current = None
        self._finished = _thread.allocate_lock()
        self._finished.acquire()
        self._max_ms = self._end = None
        self._errors = []   # the programs' exceptions, in the order they happened
        self._idle = 0    # steps in a row that found nothing scheduled
        self._calm = 0    # turns in a row that found nothing due now

    def net(self, stack):
        """The socket module (Sockets) of stack's programs: one per stack, as one kernel's."""
        net = self._nets.get(stack)
        if net is None:
            net = self._nets[stack] = bsock.Sockets(stack, self.driver)
        return net

    def install(self, stack):
        """install() stack's socket module now: for setting up before run() (a listening
        socket made before the client starts), and for importing the programs' modules."""
        bsock.install(stack, self.driver)
        bsock._default = self.net(stack)

    def spawn(self, stack, fn, *args):
        """Run fn(*args) as a program on stack once run() starts."""
        self._programs.append(_Program(self.net(stack), fn, args))

    def run(self, max_ms=600000):
        """Run every program to its end; -> their return values. The first exception of a
        program is raised here (Deadlock among them, or RuntimeError when the virtual clock
        passes max_ms), once every program has ended."""
        self._max_ms = max_ms
        self._end = self.sim.ms + max_ms
        self.install(self._programs[0].net.stack)
        try:
            for p in self._programs:
                _thread.start_new_thread(self._body, (p,))
            self._switch(None, self._programs[0])
            self._finished.acquire()     # the last program to end releases it
        finally:
            bsock.uninstall()
        if self._errors:
            raise self._errors[0]
        return [p.result for p in self._programs]

    def _body(self, p):
        p.lock.acquire()
        try:
            p.result = p.fn(*p.args)
        except BaseException as e:  # reported by run()
            self._errors.append(e)
        p.done = True
        nxt = self._next(p)
        if nxt is None:
            self._finished.release()
        else:
            self._switch(None, nxt)

    def _next(self, p):
        """The program after p that has not ended (p itself if it is the only one)."""
        progs = self._programs
        i = progs.index(p)
        for k in range(1, len(progs) + 1):
            q = progs[(i + k) % len(progs)]
            if not q.done:
                return q
        return None

    def _switch(self, me, to):
        self._current = to
        bsock._default = to.net     # install()'s module-level socket module, per program
        to.lock.release()
        if me is not None:
            me.lock.acquire()

    def _wait(self, timeout_ms):
        """A blocking call of the current program waits: the others run until they wait. The
        clock jumps only once every program has looked at a world where nothing is due now,
        and only as far as the earliest deadline of any program or the world."""
        me = self._current
        sim = self.sim
        me.deadline = None if timeout_ms is None else sim.ms + timeout_ms
        nxt = self._next(me)
        if nxt is not me:
            self._switch(me, nxt)    # back when every other program waits again
        if sim.ms >= self._end:
            raise RuntimeError("programs still running after %d virtual ms" % self._max_ms)
        if sim.busy():
            sim.settle()
            self._calm = 0
            return
        self._calm += 1
        live = [p for p in self._programs if not p.done]
        if self._calm < len(live):
            return
        self._calm = 0
        limit = None
        for p in live:
            if p.deadline is not None:
                left = max(p.deadline - sim.ms, 0)
                limit = left if limit is None else min(limit, left)
        if sim.step(limit):
            self._idle = 0
        else:
            # Nothing scheduled and no deadline: once every program has looked again after
            # such a step, none can ever go on.
            self._idle += 1
            if self._idle > len(live):
                raise Deadlock("every program waits without a timeout and nothing is scheduled")
