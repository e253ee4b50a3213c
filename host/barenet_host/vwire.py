"""A virtual clock and virtual Ethernet segments for behaviour tests: no sockets, no sleeps.

Sim owns the clock and the event queue; it jumps straight to the next deadline, so a 120 s
TIME_WAIT takes microseconds. A Wire is a hub: every frame goes to every other NIC on it, through
a seeded FaultModel. Each stack runs the same `barenet.loop.Loop` step that the host runner and
the boards run; only the waiting differs (the clock jumps). Runs in the MicroPython VM as well
(imports barenet.ticks, barenet.loop and faults.py).

Internally the clock is an unwrapped count of ms (heap keys must stay ordered across the wrap);
stacks, tasks, fault models and pcap writers only ever see it reduced to the 2**30 tick period.
"""

from barenet import ticks
from barenet.loop import Loop

from barenet_host.faults import Schedule


class VirtualNIC:
    """One port on a Wire, a pull NIC (barenet/nic.py). send() copies the frame, so a
    memoryview valid only during the call is fine.

    A port a stack reads from (`attach()`, done by Sim.host) queues what arrives for its
    `recv_into`. Otherwise it is a test's port: `on_frame(frame, now_ms)`, when set, sees each
    frame as it arrives (a scripted peer that answers at once); if not, frames collect in
    `received` (a sniffer).
    """

    def __init__(self, wire, faults=None):
        self.wire = wire
        self.link = wire.link
        self.faults = faults  # rx faults for this port; None means the wire's
        self.received = []
        self.on_frame = None
        self.stats = {"rx": 0, "tx": 0}
        self._rx = None

    def attach(self):
        self._rx = []

    def pending(self):
        return bool(self._rx)

    def send(self, frame):
        self.stats["tx"] += 1
        self.wire._send(self, frame)

    def recv_into(self, buf):
        q = self._rx
        if not q:
            return 0
        frame = q.pop(0)
        n = len(frame)
        if n > len(buf):
            n = len(buf)    # truncated, as a real NIC's receive buffer would
        buf[0:n] = frame[0:n]
        self.stats["rx"] += 1
        return n

    def _deliver(self, frame, now_ms):
        if self._rx is not None:
            self._rx.append(frame)
        elif self.on_frame is not None:
            self.on_frame(frame, now_ms)
        else:
            self.received.append(frame)


class Wire:
    """A broadcast segment joining any number of VirtualNICs. link "ethernet" carries Ethernet
    frames; "ip" carries bare IPv4 datagrams, as a TUN or SLIP link does (barenet/nic.py)."""

    def __init__(self, sim, faults=None, pcap=None, link="ethernet"):
        self.sim = sim
        self.link = link
        self.faults = faults
        self.pcap = pcap
        self.nics = []

    def nic(self, faults=None):
        """A new port; faults (a FaultModel) applies to frames it receives instead of the wire's."""
        nic = VirtualNIC(self, faults)
        self.nics.append(nic)
        return nic

    def _send(self, src, frame):
        sim = self.sim
        base = sim._abs
        now = base % ticks.PERIOD
        data = bytes(frame)
        if self.pcap is not None:
            self.pcap.write(data, now)
        push = sim._events.push
        for nic in self.nics:
            if nic is src:
                continue
            # Each receiver gets its own draw from the model: on a hub, one port may lose a
            # frame that another receives.
            model = nic.faults if nic.faults is not None else self.faults
            if model is None:
                # Due now but queued behind the current step: never delivered inside send().
                push(base, (nic, data))
            else:
                for at, copy in model.apply(data, now):
                    push(base + ticks.diff(at, now), (nic, copy))


class Sim:
    """The virtual clock, the frames in flight, and the stacks (each with its Loop) it steps."""

    def __init__(self, start_ms=0):
        self._abs = start_ms
        self._events = Schedule()
        self._loops = {}  # stack -> its Loop, in the order added
        self._nics = []   # the ports stacks read from
        self._tasks = []

    @property
    def now(self):
        """The wrapping tick clock that stacks see."""
        return self._abs % ticks.PERIOD

    @property
    def ms(self):
        """The same instant, unwrapped: for measuring elapsed virtual time in tests."""
        return self._abs

    def wire(self, faults=None, pcap=None, link="ethernet"):
        return Wire(self, faults, pcap, link)

    def add_stack(self, stack):
        """Step stack with its own Loop from now on; returns the Loop (for its tasks)."""
        loop = Loop(stack)
        self._loops[stack] = loop
        for iface in stack.interfaces:
            nic = iface.nic
            while not isinstance(nic, VirtualNIC) and hasattr(nic, "nic"):
                nic = nic.nic    # middleware (barenet.nic.Wrapper) around a port
            if isinstance(nic, VirtualNIC):
                nic.attach()
                self._nics.append(nic)
        return loop

    def loop(self, stack):
        return self._loops[stack]

    def add_task(self, fn, stack=None):
        """fn(now_ms) -> ms until it wants to run again, or None; it is called every step.
        With a stack, fn is one of that stack's loop tasks (an app: the order the runners
        use); without, it acts for the world around the stacks, after they stepped."""
        if stack is not None:
            self._loops[stack].add_task(fn)
        else:
            self._tasks.append(fn)

    def host(self, wire, mac, ip, gateway=None, mtu=1500, profile="board", **overrides):
        """A barenet Stack with one interface on wire, stepped by this Sim: (stack, iface).
        mac is None on an "ip" wire."""
        from barenet.stack import Stack  # only hosts need the core's stack; fakes do not

        stack = Stack(profile, **overrides)
        iface = stack.add_interface(wire.nic(), mac=mac, ip=ip, gateway=gateway, mtu=mtu,
                                    now_ms=self.now)
        self.add_stack(stack)
        return stack, iface

    def run(self, until=None, max_ms=60000, max_steps=10 ** 7):
        """Step until until() is true (True), or nothing is scheduled / a limit passes (False).

        A step delivers every frame due to its port, steps every stack's Loop, then runs the
        world's tasks. The clock then jumps to the earliest deadline they or the wire report.
        Running into max_ms leaves the clock at the limit.
        """
        end = self._abs + max_ms
        steps = 0
        while True:
            wait = self._step()
            if until is not None and until():
                return True
            steps += 1
            if wait is None or steps >= max_steps:
                return False
            if wait < 0:
                wait = 0
            if self._abs + wait > end:
                self._abs = end
                return False
            self._abs += wait

    def _step(self):
        """Deliver the frames due now, step every stack's Loop, then the world's tasks:
        -> ms until the next step is due, or None when nothing is scheduled."""
        events = self._events
        now = self._abs % ticks.PERIOD
        # Frames sent during this delivery phase wait for the next step, as on a real link.
        cut = events.mark()
        while True:
            item = events.pop(self._abs, cut)
            if item is None:
                break
            item[0]._deliver(item[1], now)
        wait = None
        for loop in self._loops.values():
            wait = ticks.earliest(wait, loop.step(now))
        for task in self._tasks:
            wait = ticks.earliest(wait, task(now))
        if self._tasks:
            # What the world's tasks asked of the stacks waits for their next poll.
            for loop in self._loops.values():
                if loop.stack.pending():
                    wait = 0
                    break
        at = events.next_at()
        if at is not None:
            wait = ticks.earliest(wait, at - self._abs if at > self._abs else 0)
        return wait

    def step(self, max_ms=None):
        """One step, a jump of the clock to the next deadline (by at most max_ms), and the
        step at that instant: how a blocking socket call waits here (SimDriver). -> False,
        with the clock unmoved, when nothing is scheduled and max_ms is None."""
        wait = self._step()
        if wait is None:
            if max_ms is None:
                return False
            wait = max_ms
        elif max_ms is not None and wait > max_ms:
            wait = max_ms
        if wait > 0:
            self._abs += wait
        self._step()
        return True

    def _quiet(self):
        at = self._events.next_at()
        if at is not None and at <= self._abs:
            return False
        for nic in self._nics:
            if nic.pending():
                return False
        return True

    def settle(self, max_steps=10000):
        """Run the steps of the current instant: until no frame is due now. The clock stays."""
        return self.run(until=self._quiet, max_ms=0, max_steps=max_steps)

    def advance(self, ms):
        """Run for exactly ms virtual ms, even when idle: the clock ends at now + ms, with
        everything due up to then done, including the frames sent at that last instant.
        Stacks and tasks are polled at the final instant even when nothing was scheduled, so
        their idea of now (stack.now) is the clock's: a user call right after acts at it."""
        end = self._abs + ms
        self.run(until=lambda: self._abs >= end and self._quiet(), max_ms=ms)
        self._abs = end
        self.settle()


# Event-loop rounds SimDriver.astep lets the woken tasks run before it moves the clock: a
# woken task may wake another (a chat server relaying a line) before it calls into barenet
_SETTLE = 3


class SimDriver:
    """The socket layer's driver (barenet/socket.py) on the simulator: a blocking call waits
    by stepping the whole world (every stack on every wire) and jumping the virtual clock, so
    a client and a server in one test thread both make progress while either one waits."""

    def __init__(self, sim):
        self.sim = sim

    def now(self):
        return self.sim.now

    def step(self, timeout_ms):
        if not self.sim.step(timeout_ms):
            # A real runtime would block for ever: in a simulation that is a test's bug
            raise RuntimeError("a blocking call without a timeout waits, but nothing is scheduled")

    async def astep(self, wake, busy):
        """barenet.aio's seam: one step of the world, then the tasks it woke run; the virtual
        clock jumps to the next deadline only once they are all blocked again (no wake) and
        some task waits on barenet (busy()): a program that only sleeps in real time does
        not make virtual time pass. With nothing scheduled, it waits for wake."""
        import asyncio

        sim = self.sim
        wait = sim._step()
        for _ in range(_SETTLE):
            await asyncio.sleep(0)
        if wake.is_set() or wait == 0:
            wake.clear()
        elif wait is not None and busy():
            sim._abs += wait
        else:
            await wake.wait()
            wake.clear()
