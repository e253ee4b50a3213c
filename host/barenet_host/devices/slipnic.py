"""SLIP over a byte stream as a NIC (barenet/nic.py), once for every serial-like device: a
serial port (serial.py), a pty master (pty.py), an AF_UNIX stream socket (unix.py). Each of
those is a *transport* that only moves bytes; framing, queues, carrier and reconnect are here.

A transport has:
    name          what messages call it: "serial /dev/ttyACM0"
    retry_ms      how often to try open() again while the link is down (None: at every poll,
                  which comes when its fileno() is readable: a listening socket)
    open()        (re)connect; OSError while it cannot
    read(n)       -> the bytes waiting (b"": none); OSError when the link is lost
    write(data)   -> how many bytes it took (0: full); OSError when the link is lost
    fileno()      -> an fd to select on, or None (a pyserial loop:// has none)
    close()

The NIC's frames are bare IPv4 datagrams (link "ip"). Its stats are the SLIP decoder's (rx and
the drops of wire/slip.py) plus tx, drop_tx_full (the transport's output stayed full past
TX_LIMIT bytes: the frame is dropped as a NIC drops it, and TCP retransmits) and
drop_link_down (frames sent while the link was down, or queued when it went).

A lost link (a USB serial adapter unplugged, a unix peer gone) is one line through `log`, not
an exception: link_up goes False, and poll() reopens the transport every retry_ms until it is
back (another line). `connect=False` starts with the link down, for a transport whose peer
comes later (a listening socket).
"""

import collections
import os
import sys

from barenet import ticks
from barenet.wire import slip

READ_MAX = 16384     # bytes per read: bounds the datagrams one read queues (READ_MAX / 20)
TX_LIMIT = 16384     # bytes of encoded frames waiting for the transport to take them
TX_RETRY_MS = 1      # output is waiting: poll again this soon
NO_FD_POLL_MS = 2    # a transport without an fd (loop://) is read on this clock instead


def log_stderr(line):
    print("barenet: " + line, file=sys.stderr, flush=True)


def x25():
    """The host's CRC-16/X.25 (crcmod, in C): the same values as slip.fcs16 (tests check)."""
    import crcmod.predefined
    return crcmod.predefined.mkCrcFun("x-25")


class SlipNIC:
    link = "ip"

    def __init__(self, transport, mtu=slip.DEFAULT_MTU, crc=False, log=log_stderr,
                 connect=True):
        if not 1 <= mtu <= slip.MAX_MTU:
            raise ValueError("a SLIP link's mtu is at most %d" % slip.MAX_MTU)
        self.transport = transport
        self.mtu = mtu
        self.crc = x25() if crc else None
        self.log = log
        self.decoder = slip.Decoder(mtu, self.crc)
        self.stats = self.decoder.stats
        self.stats.update(tx=0, drop_tx_full=0, drop_link_down=0)
        self._rx = collections.deque()
        self._out = bytearray()
        self.link_up = False
        self._retry_at = None
        # what fileno() gives while the transport has no fd: never readable, so the runner's
        # select sleeps on the other fds and on poll()'s wait
        self._idle_r, self._idle_w = os.pipe2(os.O_CLOEXEC)
        self._was_up = connect
        if connect:
            try:
                transport.open()   # a missing or busy port is the caller's one-line OSError
            except BaseException:
                self.close()
                raise
            self.link_up = True

    def fileno(self):
        fd = self.transport.fileno() if self.link_up or self.transport.retry_ms is None \
            else None
        return self._idle_r if fd is None else fd

    def send(self, frame):
        if not self.link_up:
            self.stats["drop_link_down"] += 1
            return
        line = slip.encode(frame, self.crc)
        if len(self._out) + len(line) > TX_LIMIT:
            self._flush()
            if len(self._out) + len(line) > TX_LIMIT:
                self.stats["drop_tx_full"] += 1
                return
        self._out += line
        self.stats["tx"] += 1
        self._flush()

    def recv_into(self, buf):
        rx = self._rx
        if not rx and self.link_up:
            try:
                data = self.transport.read(READ_MAX)
            except OSError as e:
                self._lost(e)
                return 0
            if data:
                rx.extend(self.decoder.feed(data))
        if not rx:
            return 0
        d = rx.popleft()
        n = min(len(d), len(buf))
        buf[:n] = memoryview(d)[:n]
        return n

    def poll(self, now):
        if not self.link_up:
            self._reconnect(now)
        if not self.link_up:
            if self._retry_at is None:
                return None
            return ticks.until(self._retry_at, now)
        if self._out:
            self._flush()
        if self._rx:
            return 0
        if self._out:
            return TX_RETRY_MS
        return NO_FD_POLL_MS if self.transport.fileno() is None else None

    def _flush(self):
        try:
            n = self.transport.write(self._out)
        except OSError as e:
            self._lost(e)
            return
        if n:
            del self._out[:n]

    def _lost(self, e):
        # frames still queued: each encoded frame holds two ENDs, a half-written one one
        pending = (self._out.count(slip.END) + 1) // 2
        self.stats["drop_link_down"] += pending
        self._out = bytearray()
        self.decoder.reset()
        self.transport.close()
        self.link_up = False
        self._retry_at = None
        self.log("%s lost (%s); waiting for it to come back" % (self.transport.name,
                                                                 _reason(e)))

    def _reconnect(self, now):
        retry = self.transport.retry_ms
        if retry is not None:
            if self._retry_at is None:
                self._retry_at = ticks.add(now, retry)
                return
            if not ticks.due(self._retry_at, now):
                return
            self._retry_at = ticks.add(now, retry)
        try:
            self.transport.open()
        except OSError:
            return
        self.link_up = True
        self._retry_at = None
        self.log("%s is %s" % (self.transport.name, "back" if self._was_up else "up"))
        self._was_up = True

    def close(self):
        self.transport.close()
        for fd in (self._idle_r, self._idle_w):
            if fd >= 0:
                os.close(fd)
        self._idle_r = self._idle_w = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<SlipNIC %s %s>" % (self.transport.name, "up" if self.link_up else "down")


def _reason(e):
    return (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
