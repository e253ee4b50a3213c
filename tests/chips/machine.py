"""A fake `machine` module for the chip models: SPI and Pin with MicroPython's signatures
(docs/library/machine.SPI.rst, machine.Pin.rst), wired to a model instead of silicon.

The drivers never import machine (they are handed their bus and pins), but board code and
the VM scripts build them as on a board: `SPI(0, baudrate=...)`, `Pin(17, Pin.OUT)`; a chip
model then takes them (SPIChip.connect). Runs on CPython and in the MicroPython VM.
"""


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 1
    IRQ_RISING = 2

    def __init__(self, id=None, mode=-1, pull=-1, value=1):
        self.id = id
        self.mode = mode
        self._v = 1 if value else 0
        self._handler = None
        self._trigger = 0
        self.watch = None       # the chip's view of a pin the MCU drives (chip select)

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            if self.watch is not None:
                self.watch(v)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, hard=False):
        self._handler = handler
        self._trigger = trigger

    def drive(self, v):
        """The chip drives this input (its INT output): edges call the irq handler."""
        v = 1 if v else 0
        if v == self._v:
            return
        self._v = v
        edge = self.IRQ_RISING if v else self.IRQ_FALLING
        if self._handler is not None and self._trigger & edge:
            self._handler(self)


class SPI:
    MSB = 0
    LSB = 1

    def __init__(self, id=0, baudrate=1000000, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        self.id = id
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase
        self.device = None      # the chip model on this bus

    def write(self, buf):
        self.device.clock(buf, None)

    def readinto(self, buf, write=0):
        self.device.clock(None, buf, write)

    def read(self, nbytes, write=0):
        buf = bytearray(nbytes)
        self.device.clock(None, buf, write)
        return bytes(buf)

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers must be the same length")
        self.device.clock(write_buf, read_buf)
