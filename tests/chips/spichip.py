"""What the register-level chip models (w5500_model.py, enc28j60_model.py) share: the SPI
slave side of the fake machine.SPI (transactions framed by the chip-select pin), the
interrupt output pin, and the Ethernet port to a virtual wire (barenet_host.vwire) or a TAP.

A model raises ModelError when the driver uses the chip in a way the datasheet forbids or
the model does not implement (a write to a read-only or reserved register, a command while
the last one is pending, SPI clocked without chip select): silicon would misbehave silently,
a test should fail loudly.
"""


class ModelError(AssertionError):
    pass


class SPIChip:
    def __init__(self):
        self.selected = False
        self.link = True
        self.port = None
        self.intn = None
        self.int_held = False   # hold_int(True): the INT line stuck low
        self._pulled = None     # the receive buffer for a pulled port (attach)
        # rx_wrapped: frames stored across the end of the RX ring; spi: transactions
        self.stats = {"rx": 0, "tx": 0, "rx_overflow": 0, "rx_filtered": 0, "rx_wrapped": 0,
                      "rx_no_link": 0, "tx_no_link": 0, "spi": 0}

    def connect(self, spi, cs, intn=None):
        """Take the bus and pins the driver is given: CS edges frame transactions."""
        if cs.value() == 0:
            raise ModelError("chip select is low before the first transaction")
        spi.device = self
        cs.watch = self._cs
        self.intn = intn
        if intn is not None:
            intn.sample = self._arrive
        self._update_int()

    def attach(self, port):
        """Frames the chip sends go to port.send. A VirtualNIC port's frames are pushed in;
        a port with recv_into (a UDP wire to a TAP relay: drivers/udp_link.py) is pulled
        whenever the MCU looks at the chip (_arrive)."""
        self.port = port
        if hasattr(port, "on_frame"):
            port.on_frame = self._from_wire
        elif hasattr(port, "recv_into"):
            self._pulled = bytearray(1600)

    def _arrive(self):
        """The frames a pulled port has received since the MCU last looked (a transaction
        begins, it reads the INT pin) are stored first: silicon receives whatever the MCU is
        doing, and the MCU can only tell by looking."""
        buf = self._pulled
        if buf is None:
            return
        while True:
            n = self.port.recv_into(buf)
            if not n:
                return
            self.receive(memoryview(buf)[:n])

    def _from_wire(self, frame, now_ms):
        self.receive(frame)

    def set_link(self, up):
        """Cable in (True) or out: the PHY's link status bit follows."""
        self.link = bool(up)

    def receive(self, frame):
        """One frame from the wire (no FCS)."""
        if not self.link:
            self.stats["rx_no_link"] += 1
            return
        self._store(bytes(frame))

    def _emit(self, frame):
        if not self.link:
            self.stats["tx_no_link"] += 1
            return
        self.stats["tx"] += 1
        if self.port is not None:
            self.port.send(frame)

    def _cs(self, level):
        self.selected = not level
        if self.selected:
            self._arrive()
            self.stats["spi"] += 1
            self._failed = False
            self._begin()
        elif not self._failed:      # the error already raised is the one to see
            self._end()

    def clock(self, out, inbuf, fill=0):
        """One burst of SPI clocks: out (or `fill` bytes) to the chip, inbuf from it."""
        if not self.selected:
            raise ModelError("SPI clocked while chip select is high")
        try:
            self._shift(out, inbuf, fill)
        except ModelError:
            self._failed = True
            raise

    def hold_int(self, held):
        """Hold the INT line low whatever the chip's flags say (a line stuck low, an event
        the driver never clears): the interrupt storm a driver must stay bounded in."""
        self.int_held = bool(held)
        self._update_int()

    def _set_int(self, active):
        if self.intn is not None:
            # both chips: INT is active low
            self.intn.drive(0 if active or self.int_held else 1)

    # A model provides: _begin(), _end() (a transaction starts/ends), _shift(out, inbuf,
    # fill), _store(frame) (a frame from the wire), _update_int().
