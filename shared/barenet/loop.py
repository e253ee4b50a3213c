"""The one loop step that every runner shares: the host runner, the virtual-wire simulator and
the board firmware run exactly this, and differ only in how they wait between steps (select,
a jump of the virtual clock, a ticks_ms sleep or asyncio).

    loop = Loop(stack)
    loop.add_task(app.poll)           # fn(now_ms) -> ms until it wants to run again, or None
    while True:
        wait = loop.step(now_ms())    # ms until the next step is due (None: only on a frame)
        sleep until a frame arrives or wait ms pass

One step, in this order:
1. every NIC with a `poll(now)` learns the time and releases what is due (nic.py);
2. carrier changes are reported to the stack (`link_up`);
3. up to `burst` frames per NIC are read with `recv_into` into one preallocated buffer and
   handed to `stack.input`; a NIC with more waiting makes the step ask to run again at once;
4. the tasks run (apps, sockets), after the input they may react to;
5. `stack.poll` sends what the burst and the tasks queued (the burst's one ACK, data, timers);
6. NICs with a `poll` are asked again, for what the stack just gave them (a fault model's held
   frame) and when they next need a step.
"""

from . import ticks


class Loop:
    def __init__(self, stack, burst=64):
        self.stack = stack
        self.burst = burst  # frames read per NIC per step, so one busy NIC cannot starve timers
        self.tasks = []
        self._buf = bytearray(0)
        self._mv = memoryview(self._buf)

    def add_task(self, fn):
        self.tasks.append(fn)

    def _buffer(self, size):
        # Grows once, to the largest frame of any interface: after that, reading a frame
        # allocates nothing but the slice view handed to the stack.
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)

    def take_in(self, now):
        """Step 3 alone: up to `burst` frames per NIC into the stack; -> True when a NIC has
        more waiting. A blocking socket call that a frame woke takes it in with this and looks
        again; what the frame owes (its ACK) goes with the call's next step, with the answer
        the program sends meanwhile (barenet_host.runner.RunnerDriver)."""
        stack = self.stack
        more = False
        burst = self.burst
        for iface in stack.interfaces:
            size = iface.hlen + iface.rx_max
            if size > len(self._buf):
                self._buffer(size)
            buf = self._buf
            mv = self._mv
            nic = iface.nic
            recv_into = nic.recv_into
            offload = getattr(nic, "csum_offload", False)
            for _ in range(burst):
                n = recv_into(buf)
                if not n:
                    break
                if offload:
                    iface.rx_csum_ok = nic.rx_csum_valid
                stack.input(iface, mv[:n], now)
            else:
                more = True
        return more

    def step(self, now, read=True):
        """One pass at time now (ms, ticks clock); -> ms until the next step is due, or None.
        read False leaves the NICs' frames where they are (step 3): a runner about to sleep
        until a frame sends what user calls queued first, and its wait then sees the frames."""
        stack = self.stack
        ifaces = stack.interfaces
        wait = None
        for iface in ifaces:
            nic = iface.nic
            poll = getattr(nic, "poll", None)
            if poll is not None:
                poll(now)
            up = getattr(nic, "link_up", True)
            if up != iface.link_up:
                stack.set_link(iface, up, now)
        more = self.take_in(now) if read else False
        for task in self.tasks:
            wait = ticks.earliest(wait, task(now))
        # After the tasks, so that what they queued (and timers they started) counts.
        wait = ticks.earliest(wait, stack.poll(now))
        for iface in ifaces:
            poll = getattr(iface.nic, "poll", None)
            if poll is not None:
                wait = ticks.earliest(wait, poll(now))
        return 0 if more else wait
