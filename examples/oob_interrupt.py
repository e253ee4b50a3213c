"""An out-of-band "interrupt" as telnet sends one (RFC 854 "Synch"): the client sends lines,
then IAC in the stream followed by DM as TCP urgent data (send(..., MSG_OOB)), then more lines.
The server answers each line it processes with `ok LINE`; on the interrupt it drops what the
client sent before the mark that it has not processed yet, and says `interrupt: dropped N
bytes`; at the end of the stream `bye`.

    python3 oob_interrupt.py server [--host ADDR] [--port 2323] [--inline] [--count N]
                                    [--think SECONDS]
    python3 oob_interrupt.py client HOST [--port 2323] [--before N] [--after N]
                                         [--pause SECONDS]

Where the mark is. TCP's urgent pointer only says "urgent data is somewhere ahead": the
position is the in-band IAC, the byte just before the urgent one (lines never hold 0xFF).
Two ways to get the urgent byte, as on Linux:
- default (out of line): the DM is taken out of the stream; recv(1, MSG_OOB) on the
  non-blocking socket returns it once it has arrived (EINVAL: no urgent data; EAGAIN:
  announced, not arrived yet; Linux never waits for urgent data). The server asks before
  every read (a read past the mark ends the urgent data) and before each line it processes,
  so an interrupt is seen early: it then discards data up to the IAC, even data not read
  yet. Normal reads stop at the mark and skip the urgent byte (Linux tcp_recvmsg), so the DM
  is never seen in band.
- --inline (SO_OOBINLINE): the DM stays in the stream and recv(MSG_OOB) is EINVAL. There is no
  SIOCATMARK here (barenet has no ioctl), so the server finds IAC DM in band: it reads all
  that is buffered before processing a line, and drops everything before the mark in it.
--think SECONDS: time spent per processed line, so that data is pending when the interrupt
comes (a busy server). Lines are never dropped after the mark.
"""

import errno
import socket

from bufread import Reader
from exargs import parse, usage_error
from netsleep import sleep

IAC = 0xFF
DM = 0xF2


# The session's socket is non-blocking except while it waits (wait_more, send): MSG_DONTWAIT
# alone would not do, as CPython polls a socket that has a timeout, for up to that timeout,
# before any recv().


def urgent_byte(conn):
    """The urgent byte if it has arrived, else None; conn is non-blocking."""
    try:
        b = conn.recv(1, socket.MSG_OOB)
    except OSError as e:
        if e.errno in (errno.EINVAL, errno.EAGAIN):
            return None
        raise
    return b or None       # b"": the stream ended (Linux tcp_recv_urg after a FIN)


def recv_now(conn):
    """What is buffered (b"" at the end of the stream), or None when nothing is; conn is
    non-blocking."""
    try:
        return conn.recv(4096)
    except OSError as e:
        if e.errno == errno.EAGAIN:
            return None
        raise


class Session:
    """One connection's state: bytes read but not processed, and whether an interrupt was
    signalled but its mark not read yet."""

    def __init__(self, conn, inline, timeout, log):
        self.conn = conn
        self.inline = inline
        self.timeout = timeout
        self.log = log
        self.pending = b""
        self.eof = False
        self.skipping = False   # urgent byte seen, mark not read yet: drop what comes
        self.dropped = 0
        self.interrupts = 0

    def check_urgent(self):
        # Before every read: a read that passes the mark ends the urgent data, and
        # recv(MSG_OOB) is EINVAL from then on (Linux), so the byte is asked for first.
        if not self.inline:
            u = urgent_byte(self.conn)
            if u is not None:
                self.log("urgent byte 0x%02x" % u[0])
                self.skipping = True

    def drain(self):
        while not self.eof:
            self.check_urgent()
            d = recv_now(self.conn)
            if d is None:
                return
            if not d:
                self.eof = True
            self.pending += d

    def wait_more(self):
        self.check_urgent()
        self.conn.settimeout(self.timeout)
        try:
            d = self.conn.recv(4096)
        finally:
            self.conn.setblocking(False)
        if not d:
            self.eof = True
        self.pending += d

    def send(self, data):
        self.conn.settimeout(self.timeout)
        try:
            self.conn.sendall(data)
        finally:
            self.conn.setblocking(False)

    def find_mark(self):
        """Drop what is pending before the mark; -> True when a mark was passed."""
        mark = bytes([IAC, DM]) if self.inline else bytes([IAC])
        i = self.pending.rfind(mark)
        if i < 0:
            if self.skipping:
                self.dropped += len(self.pending)
                self.pending = b""
            return False
        self.dropped += i
        self.pending = self.pending[i + len(mark):]
        self.skipping = False
        self.interrupts += 1
        self.send(("interrupt: dropped %d bytes\n" % self.dropped).encode())
        self.log("interrupt: dropped %d bytes" % self.dropped)
        self.dropped = 0
        return True


def handle(conn, inline=False, think=0.0, timeout=30.0, log=print):
    """Serve one connection to the end of its stream (or `timeout` seconds of silence);
    -> (lines processed, interrupts)."""
    conn.setblocking(False)
    s = Session(conn, inline, timeout, log)
    lines = 0
    while True:
        s.drain()
        s.check_urgent()
        s.find_mark()
        i = s.pending.find(b"\n")
        if i >= 0 and not s.skipping:
            line, s.pending = s.pending[:i], s.pending[i + 1:]
            s.send(b"ok " + line + b"\n")
            lines += 1
            if think:
                sleep(think)
            continue
        if s.eof:
            break
        s.wait_more()
    s.send(b"bye\n")
    return lines, s.interrupts


def listen(host="", port=2323, inline=False):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if inline:
        # set before accept(): an accepted socket inherits it, and it must hold when the
        # urgent byte arrives
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    ls.bind((host, port))
    ls.listen(2)
    return ls


def serve(ls, inline=False, count=0, think=0.0, log=print):
    """Serve connections on the listening socket ls one by one: count of them (0: for ever)."""
    n = 0
    while count == 0 or n < count:
        conn, peer = ls.accept()
        try:
            lines, interrupts = handle(conn, inline, think, 30.0, log)
            log("%s:%d: %d lines, %d interrupts" % (peer + (lines, interrupts)))
        finally:
            conn.close()
        n += 1


def client(host, port=2323, before=20, after=3, pause=0.0, timeout=30.0):
    """Send `before` lines, wait `pause` seconds, send the interrupt and `after` lines;
    -> the server's answer lines."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall("".join("before %d\n" % i for i in range(before)).encode())
        if pause:
            sleep(pause)
        s.sendall(bytes([IAC]))
        s.send(bytes([DM]), socket.MSG_OOB)   # the last byte of an MSG_OOB send is urgent
        s.sendall("".join("after %d\n" % i for i in range(after)).encode())
        s.shutdown(socket.SHUT_WR)
        rd = Reader(s)
        out = []
        while True:
            line = rd.line()
            if not line:
                return out
            out.append(line.decode().rstrip("\n"))
    finally:
        s.close()


def main(argv):
    o, rest = parse(argv, {"host": "", "port": 2323, "inline": False, "count": 0,
                           "think": 0.0, "before": 20, "after": 3, "pause": 0.0,
                           "timeout": 30.0})
    if rest == ["server"]:
        ls = listen(o["host"], o["port"], o["inline"])
        print("listening on %s:%d%s" % (ls.getsockname() + (" (inline)" if o["inline"] else "",)))
        try:
            serve(ls, o["inline"], o["count"], o["think"])
        finally:
            ls.close()
        return 0
    if len(rest) == 2 and rest[0] == "client":
        for line in client(rest[1], o["port"], o["before"], o["after"], o["pause"],
                           o["timeout"]):
            print(line)
        return 0
    usage_error("usage: oob_interrupt.py server [options] | client HOST [options]")


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
