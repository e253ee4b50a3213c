"""SLIP framing (RFC 1055) with an optional CRC-16/X.25 trailer: what the bytes on a serial line
mean. `encode()` frames one datagram; a `Decoder` is fed the line's bytes in whatever chunks
they arrive and hands back whole datagrams, resynchronising at the next END after line noise,
a bad escape or an overrun, and counting each drop by reason (never raising).

    line = encode(datagram, crc=fcs16)           # END, escaped datagram + FCS, END
    dec = Decoder(mtu=1500, crc=fcs16)
    for datagram in dec.feed(chunk): ...

SLIP has no MTU negotiation: 1006 is RFC 1055's conventional size; barenet allows up to 1500.
SLIP has no error detection either (RFC 1055 "Deficiencies"), so a noisy UART may append the
FCS of PPP in HDLC-like framing (RFC 1662 C.2: CRC-16/X.25, reflected polynomial 0x8408,
initial 0xFFFF, complemented, least significant octet first), inside the escaping. Both ends must
agree to use it. `crc` is any function data -> FCS: the table one here (`fcs16`, MicroPython),
or on the host crcmod's 'x-25', which computes the same value in C.

Decoding works on whole runs between ENDs with bytes.split/count/replace, not byte by byte:
one frame costs a few C-level passes on either runtime.
"""

END = b"\xc0"      # RFC 1055: frame end
ESC = b"\xdb"      # RFC 1055: frame escape
ESC_END = b"\xdb\xdc"   # ESC, ESC_END (0xDC): a data byte 0xC0
ESC_ESC = b"\xdb\xdd"   # ESC, ESC_ESC (0xDD): a data byte 0xDB

DEFAULT_MTU = 1006   # RFC 1055 "Protocol": the Berkeley SLIP size
MAX_MTU = 1500
# RFC 791: a datagram's header alone is 20 bytes. Runs shorter than that between two ENDs are
# line noise (a frame's END, a glitch, the next END), not datagrams.
MIN_LEN = 20
FCS_LEN = 2


def _fcs_table():
    # RFC 1662 C.2: the byte-at-a-time table for the reflected polynomial 0x8408
    t = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        t.append(v)
    return t


_FCS_TABLE = _fcs_table()


def fcs16(data):
    """CRC-16/X.25 of data, as RFC 1662's FCS-16 (final complement included): 0x906E for
    b"123456789". The board's CRC; the host passes crcmod's, which is faster."""
    t = _FCS_TABLE
    fcs = 0xFFFF
    for b in data:
        fcs = (fcs >> 8) ^ t[(fcs ^ b) & 0xFF]
    return fcs ^ 0xFFFF


def encode(datagram, crc=None):
    """One datagram as SLIP line bytes: END, the escaped datagram (and FCS), END. The leading
    END ends whatever line noise came before (RFC 1055 "Protocol")."""
    d = bytes(datagram)
    if crc is not None:
        fcs = crc(d)
        d += bytes((fcs & 0xFF, fcs >> 8))
    # ESC first, so that the ESCs the END escapes add are not escaped again
    if ESC in d:
        d = d.replace(ESC, ESC_ESC)
    if END in d:
        d = d.replace(END, ESC_END)
    return END + d + END


class Decoder:
    """Line bytes in, datagrams out. `stats`: rx (datagrams out), drop_crc, drop_escape (ESC
    followed by anything but ESC_END or ESC_ESC), drop_overrun (more than mtu bytes before an
    END: the rest up to the next END is skipped), drop_short (fewer than min_len bytes).
    Empty runs (END END) are the usual frame boundary, not drops."""

    def __init__(self, mtu=MAX_MTU, crc=None, min_len=MIN_LEN):
        self.crc = crc
        self.tail = FCS_LEN if crc is not None else 0
        self.max = mtu + self.tail          # decoded bytes a run may hold
        self.min = min_len + self.tail
        self.reset()
        self.stats = {"rx": 0, "drop_crc": 0, "drop_escape": 0, "drop_overrun": 0,
                      "drop_short": 0}

    def reset(self):
        """Forget the run in progress: the line was cut (a port unplugged), and what follows
        belongs to a new stream."""
        self.partial = b""                  # the run after the last END, not yet ended
        self.skipping = False               # overran: discard up to the next END

    def feed(self, data):
        """Take the next bytes from the line; -> the list of datagrams they completed."""
        out = []
        if not isinstance(data, bytes):
            data = bytes(data)     # a read buffer's view: split, count and + need bytes
        if END not in data:
            if not self.skipping:
                self.partial += data
                self._check_partial()
            return out
        runs = data.split(END)
        last = runs.pop()
        if self.skipping:
            runs[0] = b""              # the end of the run that overran
            self.skipping = False
        elif self.partial:
            runs[0] = self.partial + runs[0]
        for run in runs:
            if run:
                self._run(run, out)
        self.partial = last
        self._check_partial()
        return out

    def _check_partial(self):
        # escaping at most doubles a run: past that, no END can make it fit
        if len(self.partial) > 2 * self.max:
            self.stats["drop_overrun"] += 1
            self.partial = b""
            self.skipping = True

    def _run(self, run, out):
        stats = self.stats
        if ESC in run:
            # every ESC must start one of the two escapes (RFC 1055); the two pairs cannot
            # overlap, so counting them finds any other byte after an ESC
            if run.count(ESC) != run.count(ESC_END) + run.count(ESC_ESC):
                stats["drop_escape"] += 1
                return
            run = run.replace(ESC_END, END).replace(ESC_ESC, ESC)
        n = len(run)
        if n > self.max:
            stats["drop_overrun"] += 1
            return
        if n < self.min:
            stats["drop_short"] += 1
            return
        if self.crc is not None:
            n -= FCS_LEN
            if self.crc(memoryview(run)[:n]) != run[n] | run[n + 1] << 8:
                stats["drop_crc"] += 1
                return
            run = run[:n]
        stats["rx"] += 1
        out.append(run)
