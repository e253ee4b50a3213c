"""barenet.socket's driver on a board (the driver interface is in barenet/socket.py): a
blocking socket call runs the loop step (barenet/loop.py) and then sleeps in the runtime's
select.poll on the NICs' own waitable objects (a tunnel link's UDP socket, say) until a frame
arrives or the step's deadline or the call's timeout comes. Time is the runtime's
time.ticks_ms(), which wraps at the period barenet/ticks.py expects.

    drv = PollDriver(Loop(stack), [link.sock])
    Sockets(stack, drv)                       # or barenet.socket.install(stack, drv)

On bare-metal ports poll re-checks a pure-Python NIC only on an event or its timeout
(DESIGN.md "Boards and drivers"), so an SPI NIC's INT pin must wake it; here the waitables
are the runtime's own sockets, which poll natively.
"""

import select
import time

from barenet import ticks

ASLEEP_MS = 10      # astep's longest sleep: a frame's wait for the pump, at worst


class PollDriver:
    def __init__(self, loop, waitables, clock=None):
        self.loop = loop
        self.clock = clock or time.ticks_ms
        self._poll = select.poll()
        for w in waitables:
            self._poll.register(w, select.POLLIN)

    def watch(self, waitable):
        """Also wait on waitable (a link's socket, reopened)."""
        self._poll.register(waitable, select.POLLIN)

    def unwatch(self, waitable):
        try:
            self._poll.unregister(waitable)
        except (KeyError, OSError, ValueError):
            pass              # never registered, or already closed

    def now(self):
        return self.clock()

    def step(self, timeout_ms):
        wait = ticks.earliest(self.loop.step(self.clock()), timeout_ms)
        self._poll.poll(-1 if wait is None else max(wait, 0))
        self.loop.step(self.clock())     # what arrived is input before the caller looks again

    async def astep(self, wake, busy):
        """barenet.aio's seam (the pump task): one loop step, then, unless a frame is already
        waiting, a sleep in the event loop until the step's deadline, at most ASLEEP_MS. The
        event loop cannot wait on a pure-Python NIC (mcu-facts.md 2(b)), so a frame that comes
        during the sleep waits for its end; the other tasks (apps, the supervisor, a user's)
        run meanwhile."""
        import asyncio

        wait = self.loop.step(self.clock())
        await asyncio.sleep_ms(0)
        if wake.is_set() or wait == 0 or self._poll.poll(0):
            wake.clear()
            return
        await asyncio.sleep_ms(ASLEEP_MS if wait is None else min(wait, ASLEEP_MS))
        wake.clear()
