"""A board on a virtual wire: an unchanged driver (firmware/drivers) on its chip model, behind
the fake machine.SPI/Pin, under a barenet Stack; and a second barenet stack on the same wire
as its peer. Shared by the CPython tests here and the MicroPython VM script (vm_chips.py).
"""

from barenet.stack import Stack

from machine import SPI, Pin
from w5500_model import W5500Model
from enc28j60_model import ENC28J60Model

BOARD_MAC = b"\x02\x00\x00\x00\x05\x01"
PEER_MAC = b"\x02\x00\x00\x00\x05\x02"
BOARD_IP = "192.0.2.2"
PEER_IP = "192.0.2.1"


MODELS = {"w5500": W5500Model, "enc28j60": ENC28J60Model}    # by config.json's link.driver


def _driver(chip):
    if chip == "w5500":
        from drivers.w5500 import W5500
        return MODELS[chip], W5500
    from drivers.enc28j60 import ENC28J60
    return MODELS[chip], ENC28J60


def chip_and_driver(chip, port, irq=True, driver=None, model=None, **kw):
    """(model, driver) for chip "w5500" or "enc28j60", the model's Ethernet side on port.
    driver: a subclass to use instead (a workaround taken out); model: a model instance."""
    model_cls, driver_cls = _driver(chip)
    m = model if model is not None else model_cls()
    spi = SPI(0, baudrate=8000000)
    cs = Pin(17, Pin.OUT, value=1)
    intn = Pin(21, Pin.IN) if irq else None
    m.connect(spi, cs, intn)
    m.attach(port)
    d = (driver or driver_cls)(spi, cs, BOARD_MAC, intn=intn, **kw)
    return m, d


def board(sim, wire, chip, irq=True, driver=None, model=None, **kw):
    """A barenet stack on chip's driver on wire, stepped by sim: (model, driver, stack)."""
    m, d = chip_and_driver(chip, wire.nic(), irq, driver, model, **kw)
    stack = Stack("board", seed=3)
    stack.add_interface(d, mac=BOARD_MAC, ip=BOARD_IP + "/24", now_ms=sim.now)
    sim.add_stack(stack)
    return m, d, stack


def peer(sim, wire):
    stack, _ = sim.host(wire, PEER_MAC, PEER_IP + "/24", seed=4)
    return stack


def ping(sim, stack, dst, sizes, ident=0x4242, wait_ms=3000):
    """Echo requests of these payload sizes, one at a time: -> the sizes answered intact."""
    ep = stack.icmp.echo_endpoint(ident)
    got = []
    for seq, n in enumerate(sizes):
        data = bytes((seq * 7 + j) & 0xFF for j in range(n))
        ep.send(dst, seq, data)
        box = []

        def answered():
            r = ep.recv()
            if r is not None:
                box.append(r)
            return bool(box)

        if sim.run(until=answered, max_ms=wait_ms) and box[0][1] == seq and box[0][2] == data:
            got.append(n)
    ep.close()
    return got


def frame_to_board(i, n):
    """An Ethernet II frame for the board's MAC, n bytes, its payload numbered i."""
    body = bytes((i * 11 + j) & 0xFF for j in range(n - 14))
    return BOARD_MAC + PEER_MAC + b"\x88\xb5" + body     # IEEE 802 local experimental type


def read_frames(drv, calls):
    """What `calls` calls of drv.recv_into return, the frames only (a 0 does not stop it:
    a driver that missed a frame may still find the next)."""
    buf = bytearray(1514)
    out = []
    for _ in range(calls):
        n = drv.recv_into(buf)
        if n:
            out.append(bytes(buf[:n]))
    return out


def pattern(off, n, k):
    b = bytearray(n)
    for j in range(n):
        i = off + j
        b[j] = (i * 13 + k + (i >> 9)) & 0xFF
    return b


class Sink:
    """The receiving end of a TCP transfer, as a loop task (poll): accepts one connection on
    listener and counts and hashes what arrives until the sender closes (eof)."""

    def __init__(self, listener):
        import hashlib
        self.listener = listener
        self.conn = None
        self.n = 0
        self.eof = False
        self.sha = hashlib.sha256()

    def poll(self, now):
        if self.conn is None:
            self.conn = self.listener.accept()
        c = self.conn
        while c is not None and not self.eof:
            d = c.recv(4096)
            if d is None:
                break
            if not d:
                self.eof = True
                break
            self.sha.update(d)
            self.n += len(d)
        return None

    def hexdigest(self):
        return _hex(self.sha.digest())


def tcp_transfer(sim, sender, receiver, dst, size, port=5001, max_ms=120000):
    """size bytes from sender to receiver over one TCP connection: -> (bytes received,
    sha256 hex of them, sha256 hex of what was sent)."""
    import hashlib
    sink = Sink(receiver.tcp.listen(port))
    client = sender.tcp.connect(dst, port)
    st = {"sent": 0}
    h_out = hashlib.sha256()

    def app(now):
        n = st["sent"]
        while n < size:
            chunk = pattern(n, min(2048, size - n), 1)
            sent = client.send(chunk)
            if not sent:
                break
            h_out.update(chunk[:sent])
            n += sent
            if n == size:
                client.shutdown_write()
        st["sent"] = n
        return sink.poll(now)

    sim.add_task(app)
    sim.run(until=lambda: sink.eof, max_ms=max_ms)
    return sink.n, sink.hexdigest(), _hex(h_out.digest())


def _hex(b):
    return "".join("%02x" % x for x in b)
