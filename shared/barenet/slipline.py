"""What a SLIP NIC over a byte stream keeps between the stack and the stream, sans-I/O: the
encoded bytes the stream has not taken yet, and the datagrams decoded from what it gave. The
board's driver (firmware/drivers/slip_stream.py, a UART) and the host's
(barenet_host/devices/slipnic.py, a serial port, pty or socket) both move bytes through one:

    line = SlipLine(mtu, crc)
    line.queue(frame)            # NIC send(): False when the stream is tx_limit bytes behind
    n = stream.write(line.out)   # whenever the stream may take more
    line.sent(n)
    line.received(stream.read(512))
    n = line.recv_into(buf)      # NIC recv_into(): the oldest datagram, 0 when none

`stats` is the decoder's (rx and its drops, wire/slip.py) plus tx and drop_tx_full: a frame
that finds tx_limit bytes still waiting is dropped, as a NIC with a full queue drops it
(nic.py), and TCP retransmits it.
"""

from .wire import slip

TX_LIMIT = 16384


class SlipLine:
    def __init__(self, mtu=slip.DEFAULT_MTU, crc=None, tx_limit=TX_LIMIT):
        self.crc = crc
        self.tx_limit = tx_limit
        self.decoder = slip.Decoder(mtu, crc)
        self.stats = self.decoder.stats
        self.stats["tx"] = 0
        self.stats["drop_tx_full"] = 0
        self.out = b""       # encoded frames the stream has not taken yet
        self.rx = []         # decoded datagrams the stack has not taken yet

    def queue(self, frame):
        line = slip.encode(frame, self.crc)
        if len(self.out) + len(line) > self.tx_limit:
            self.stats["drop_tx_full"] += 1
            return False
        self.out += line
        self.stats["tx"] += 1
        return True

    def sent(self, n):
        """The stream took the first n bytes of `out`."""
        if n:
            self.out = self.out[n:]

    def received(self, data):
        """Bytes from the stream (None or b"": nothing came)."""
        if data:
            self.rx.extend(self.decoder.feed(data))

    def recv_into(self, buf):
        if not self.rx:
            return 0
        d = self.rx.pop(0)
        n = min(len(d), len(buf))
        buf[:n] = d[:n] if n < len(d) else d
        return n

    def cut(self):
        """The stream is gone: forget its half-read frame and what it did not take;
        -> how many frames that was (each encoded frame holds two ENDs, a half-sent one one)."""
        lost = (self.out.count(slip.END) + 1) // 2
        self.out = b""
        self.decoder.reset()
        return lost
