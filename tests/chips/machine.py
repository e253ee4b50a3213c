"""A fake `machine` module for the chip models: SPI and Pin with MicroPython's signatures
(docs/library/machine.SPI.rst, machine.Pin.rst), wired to a model instead of silicon.

The drivers never import machine (they are handed their bus and pins), but board code and
the VM scripts build them as on a board: `SPI(0, baudrate=...)`, `Pin(17, Pin.OUT)`; a chip
model then takes them (SPIChip.connect), or, for board code that builds them itself
(firmware/netdev.py), is soldered to their ids beforehand (solder). Runs on CPython and in
the MicroPython VM.
"""

_wiring = []      # [chip, bus id, CS pin id, INT pin id, bus, CS pin, INT pin], by solder()


def solder(chip, spi, cs, intn=None):
    """Wire chip (a model, spichip.SPIChip) as a board's traces do: to SPI bus id spi, its
    chip select to pin id cs and its INT output to pin id intn (None: not wired). The SPI and
    Pin objects made afterwards with these ids are connected to it (SPIChip.connect) once
    all of them are made, before the driver's first transaction."""
    _wiring.append([chip, spi, cs, intn, None, None, None])


def _made(kind, obj):
    for w in _wiring:
        if kind == "spi" and obj.id == w[1]:
            w[4] = obj
        elif kind == "pin" and obj.id == w[2]:
            w[5] = obj
        elif kind == "pin" and w[3] is not None and obj.id == w[3]:
            w[6] = obj
        else:
            continue
        if w[4] is not None and w[5] is not None and (w[3] is None or w[6] is not None):
            w[0].connect(w[4], w[5], w[6])


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
        self.sample = None      # the chip's, called before the MCU reads a pin it drives
        _made("pin", self)

    def value(self, v=None):
        if v is None:
            if self.sample is not None:
                self.sample()
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
        _made("spi", self)

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
