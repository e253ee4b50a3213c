"""What the SPI Ethernet drivers (w5500.py, enc28j60.py) share: the pull-NIC face of
barenet/nic.py, the INT pin, and the link check on a clock.

A driver is given its `machine.SPI` bus and `machine.Pin` objects (chip select, and the
chip's interrupt output if it is wired), so host tests hand it fakes and the chip models.

The INT pin (active low on both chips) is wired to `Pin.irq`: the handler only sets a flag,
and recv_into talks to the chip only while the flag is up, so an idle chip costs no SPI
traffic. Without an INT pin, recv_into asks the chip every time. On bare-metal ports
select.poll re-checks a pure-Python object only on an event or a timeout (mcu-facts.md 2(b)):
with an INT pin, register `nic.waitable` with the runner's select.poll (PollDriver's
waitables), which is readable while the flag is up, so an edge ends the wait at once; and
poll() keeps a periodic step due anyway, so the loop never waits on the pin alone.
"""

import time

from barenet import ticks

try:
    from io import IOBase as _Stream     # MicroPython's select.poll takes io.IOBase streams
except ImportError:
    _Stream = object

try:
    sleep_ms = time.sleep_ms
except AttributeError:  # CPython, where the drivers run against the chip models
    def sleep_ms(ms):
        time.sleep(ms / 1000)

LINK_CHECK_MS = 250   # PHY link status is read this often
IDLE_POLL_MS = 5      # step period without an INT pin: the chip is asked for frames
IRQ_POLL_MS = 50      # with an INT pin: the step period for a runner not waiting on `waitable`
SPINS = 100           # bounded register polls (command accepted, PHY not busy, TX done)
FRAME_MAX = 1514      # Ethernet II header + 1500 bytes, without the FCS


_MP_STREAM_POLL = 3
_POLLIN = 1


class Ready(_Stream):
    """What select.poll waits on for a NIC with an INT pin: readable while its flag is up."""

    def __init__(self, nic):
        self.nic = nic

    def ioctl(self, op, arg):
        if op == _MP_STREAM_POLL:
            return arg & _POLLIN if self.nic._flag else 0
        return -1


class SPINIC:
    link = "ethernet"
    mtu = 1500

    def __init__(self, spi, cs, mac, intn=None):
        self.spi = spi
        self.cs = cs
        self.mac = bytes(mac)
        self.stats = {"rx": 0, "tx": 0, "drop_rx_size": 0, "drop_rx_bad": 0,
                      "drop_tx_size": 0, "drop_tx_full": 0, "drop_tx_link": 0,
                      "drop_tx_busy": 0, "chip_timeout": 0, "rx_reset": 0, "link_changes": 0}
        self.link_up = False
        self._link_at = None
        self._irq = intn is not None
        self._intn = intn
        self._flag = True     # look once, whatever happened before the handler was set
        self._empty = False   # the last look the flag asked for found nothing
        self.waitable = Ready(self) if self._irq else None
        cs.value(1)
        if intn is not None:
            intn.irq(handler=self._isr, trigger=intn.IRQ_FALLING)

    def _isr(self, pin):
        self._flag = True
        self._empty = False

    def _idle(self):
        """recv_into found nothing: lower the flag, then look again (-> True: something
        came meanwhile), so an edge between the chip's last answer and here is not lost."""
        if not self._irq:
            return False
        self._flag = False
        self._ack_rx()
        if self._rx_waiting():
            self._flag = True
            return True
        self._empty = True
        return False

    def poll(self, now):
        if self._irq and not self._intn.value():
            self._flag = True     # INT is still low: no new edge will come for it
        if self._link_at is None or ticks.due(self._link_at, now):
            up = self._check()
            if up != self.link_up:
                self.link_up = up
                self.stats["link_changes"] += 1
            self._link_at = ticks.add(now, LINK_CHECK_MS)
        if self._irq and self._flag and not self._empty:
            return 0
        # INT held low with nothing to read (a stuck line, an event the driver does not
        # clear) is no news: the pin's level is then looked at on the polled period, so an
        # interrupt storm cannot keep the loop stepping at once for ever
        return min(ticks.until(self._link_at, now), IRQ_POLL_MS if self._irq else IDLE_POLL_MS)

    def send(self, frame):
        """-> True: the chip took the frame; False: dropped and counted (nic.py), and the
        caller may offer it again later (a full TX memory, a chip still sending)."""
        n = len(frame)
        if n < 14 or n > FRAME_MAX:
            self.stats["drop_tx_size"] += 1
            return False
        if not self.link_up:
            self.stats["drop_tx_link"] += 1
            return False
        if self._transmit(frame, n):
            self.stats["tx"] += 1
            return True
        return False

    def recv_into(self, buf):
        while self._flag or not self._irq:
            if not self._rx_waiting():
                if not self._idle():
                    return 0
                continue
            self._empty = False
            n = self._receive(buf)
            if n:
                self.stats["rx"] += 1
                return n
        return 0

    # A driver provides: _check() -> link up (the periodic look at the chip: its PHY's link
    # status, and what else it reports only when asked), _rx_waiting() -> bool, _ack_rx()
    # (clear the chip's receive interrupt), _receive(buf) -> n (0: that frame was dropped
    # and counted), _transmit(frame, n) -> bool (False: not taken, counted).
