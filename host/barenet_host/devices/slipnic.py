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

The NIC's frames are bare IPv4 datagrams (link "ip"). Its queues and stats are the core's
SlipLine's (barenet/slipline.py: rx, tx, the decoder's drops, drop_tx_full when the transport
is TX_LIMIT bytes behind) plus drop_link_down (frames sent while the link was down, or queued
when it went).

A lost link (a USB serial adapter unplugged, a unix peer gone) is one line through `log`, not
an exception: link_up goes False, and poll() reopens the transport every retry_ms until it is
back (another line). `connect=False` starts with the link down, for a transport whose peer
comes later (a listening socket).
"""

import os
import sys

from barenet import ticks
from barenet.slipline import SlipLine
from barenet.wire import slip

READ_MAX = 16384     # bytes per read: bounds the datagrams one read queues (READ_MAX / 20)
# Output is waiting: poll again this soon, twice as late after each try the transport took
# nothing from, up to TX_RETRY_MAX_MS (a pty nobody reads would otherwise wake us every ms).
TX_RETRY_MS = 1
TX_RETRY_MAX_MS = 64
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
        if not 0 < mtu <= slip.MAX_MTU:
            raise ValueError("a SLIP link's mtu is 1-%d" % slip.MAX_MTU)
        self.transport = transport
        self.mtu = mtu
        self.log = log
        self.line = SlipLine(mtu, x25() if crc else None)
        self.stats = self.line.stats
        self.stats["drop_link_down"] = 0
        self.link_up = False
        self._retry_at = None
        self._tx_wait = TX_RETRY_MS
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
        elif self.line.queue(frame):
            self._flush()

    def recv_into(self, buf):
        line = self.line
        if not line.rx and self.link_up:
            try:
                line.received(self.transport.read(READ_MAX))
            except OSError as e:
                self._lost(e)
        return line.recv_into(buf)

    def poll(self, now):
        if not self.link_up:
            self._reconnect(now)
        if not self.link_up:
            if self._retry_at is None:
                return None
            return ticks.until(self._retry_at, now)
        line = self.line
        if line.out:
            self._flush()
        if line.rx:
            return 0
        if line.out:
            return self._tx_wait
        return NO_FD_POLL_MS if self.transport.fileno() is None else None

    def _flush(self):
        try:
            n = self.transport.write(self.line.out)
        except OSError as e:
            self._lost(e)
            return
        self.line.sent(n)
        self._tx_wait = TX_RETRY_MS if n else min(2 * self._tx_wait, TX_RETRY_MAX_MS)

    def _lost(self, e):
        self.stats["drop_link_down"] += self.line.cut()
        self.transport.close()
        self.link_up = False
        self._retry_at = None
        self.log("%s lost (%s); waiting for it to come back" % (self.transport.name,
                                                                 e.strerror or e))

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

