"""A board's TCP connection spliced to a host TCP socket (slirp style: the gateway stack
terminates the board's TCP, the host kernel carries it on).

Backpressure both ways, so nothing is buffered without bound and nothing is lost: from the
host socket only as much is read as the board connection's send buffer takes
(`conn.writable()`; otherwise the fd is not watched and the host's window closes); from the
board connection only what the host socket's nonblocking send accepts is consumed (peeked
first, then taken: its receive window closes meanwhile). A FIN is passed on as shutdown, a
reset as a reset (SO_LINGER 0 on the host side, ABORT on the board side).

An outbound flow starts with the board's SYN held (TCP.catch_all returns True) while the host
socket connects; then the SYN is input again and the gateway's listener answers it, or, if
the host refused, TCP answers it as a closed port (RST). An unreachable host is reported with
ICMP host unreachable. A forwarded flow (forward.py) starts from an accepted host socket and
an active open to the board.
"""

import errno
import socket
import struct

from barenet.addr import ip_ntoa
from barenet.tcp.state import CLOSED, ESTABLISHED
from barenet.wire import icmp as icmpw

CHUNK = 65536
_LINGER_RESET = struct.pack("ii", 1, 0)   # close() then sends a RST (socket(7) SO_LINGER)


def reset(sock):
    """Close a host socket with a RST (SO_LINGER 0) instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    except OSError:
        pass
    sock.close()


def host_socket():
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK
                         | socket.SOCK_CLOEXEC)


class TCPFlow:
    proto = "tcp"

    def __init__(self, gw, key, sock, now, inbound=False):
        self.gw = gw
        self.key = key            # ("tcp", board ip, board port, remote ip, remote port)
        self.sock = sock
        self.fd = sock.fileno()
        self.inbound = inbound
        self.last = now
        self.conn = None
        self.syn = None           # (iface, the held SYN datagram) while the host connects
        self._early = 0           # connect()'s own error, when it failed at once
        self.verdict = True       # what TCP.catch_all answers the SYN with (see gateway)
        self.reading = False      # the host fd is watched
        self.writing = False      # waiting for the host socket to take more
        self.fin_to_host = False
        self.fin_to_board = False
        self.up = 0               # bytes board -> host
        self.down = 0             # bytes host -> board
        self.state = "connecting"

    def kind(self):
        c = self.conn
        if c is not None and c.state == ESTABLISHED and not self.fin_to_host \
                and not self.fin_to_board:
            return "tcp"
        return "tcp_transitory"

    def row(self):
        c = self.conn
        return {"proto": "tcp", "board": "%s:%d" % (ip_ntoa(self.key[1]), self.key[2]),
                "remote": "%s:%d" % (ip_ntoa(self.key[3]), self.key[4]),
                "dir": "in" if self.inbound else "out", "state": self.state,
                "bytes_up": self.up, "bytes_down": self.down,
                "buffered": 0 if c is None else c.sndbuf.length + c.rcvbuf.length}

    # -- the host connect (outbound) -------------------------------------------------------

    def connect(self, addr, iface, syn):
        self.syn = (iface, syn)
        err = self.sock.connect_ex(addr)
        # Decided from the runner, never here inside the stack's input (the SYN goes in
        # again): a socket whose connect failed at once is writable at once
        self._early = 0 if err == errno.EINPROGRESS else err
        self.gw.runner.add_writer(self.fd, self._connected)

    def _connected(self, now):
        self.gw.runner.remove_writer(self.fd)
        err = self._early or self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        iface, syn = self.syn
        self.syn = None
        gw = self.gw
        if err == 0:
            self.state = "syn_received"
            self.verdict = gw.listener
            gw.stack.input(iface, syn, now)      # the gateway's listener answers it now
            return
        if err == errno.ECONNREFUSED:
            gw.count("tcp_refused")
            self.verdict = None                  # TCP answers as a closed port: RST
            gw.stack.input(iface, syn, now)
        else:
            gw.count("tcp_unreachable")
            code = icmpw.NET_UNREACH if err == errno.ENETUNREACH else icmpw.HOST_UNREACH
            gw.stack.icmp.send_error(icmpw.DEST_UNREACH, code, syn, False, now)
        self.close("refused")
        gw.table.remove(self)

    # -- the splice ------------------------------------------------------------------------

    def attach(self, conn, now):
        self.conn = conn
        self.state = "open"
        self.last = now
        self._watch_reads(True)

    def _watch_reads(self, on):
        if on != self.reading:
            self.reading = on
            if on:
                self.gw.runner.add_fd(self.fd, self._readable)
            else:
                self.gw.runner.remove_fd(self.fd)

    def pump(self, now):
        """Every loop step: board -> host as far as the host socket takes it; the host side
        watched again when the board connection has room."""
        conn = self.conn
        if conn is None:
            return
        try:
            if not self.fin_to_host and not self.writing:
                self._to_host(conn, now)
            if not self.reading and not self.fin_to_board and conn.writable():
                self._watch_reads(True)
        except OSError as e:
            self._failed(e)
            return
        if self.fin_to_host and self.fin_to_board:
            self.gw.count("tcp_closed")
            self.close("done")
            self.gw.table.remove(self)

    def _to_host(self, conn, now):
        sock = self.sock
        while True:
            data = conn.recv(CHUNK, peek=True)
            if data is None:
                return
            if not data:
                sock.shutdown(socket.SHUT_WR)     # the board's FIN
                self.fin_to_host = True
                self.state = "fin_to_host" if not self.fin_to_board else self.state
                return
            try:
                n = sock.send(data)
            except BlockingIOError:
                n = 0
            if n:
                conn.recv(n)                      # taken only now: what the host accepted
                self.up += n
                self.last = now
            if n < len(data):
                self.writing = True
                self.gw.runner.add_writer(self.fd, self._writable)
                return

    def _writable(self, now):
        self.gw.runner.remove_writer(self.fd)
        self.writing = False
        self.pump(now)

    def _readable(self, now):
        conn = self.conn
        room = conn.writable()
        if room <= 0:
            self._watch_reads(False)              # the host's window closes meanwhile
            return
        try:
            data = self.sock.recv(min(room, CHUNK))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._failed(e)
            return
        try:
            if not data:
                conn.shutdown_write()             # the host's FIN
                self.fin_to_board = True
                self.state = "fin_to_board" if not self.fin_to_host else self.state
                self._watch_reads(False)
                return
            n = conn.send(data)
        except OSError as e:
            self._failed(e)
            return
        assert n == len(data), "the board connection took less than writable() said"
        self.down += n
        self.last = now

    def _failed(self, e):
        self.gw.count("tcp_reset")
        self.close("reset")
        self.gw.table.remove(self)

    def close(self, why):
        """Both sides closed: a finished flow gracefully, any other with a RST each way."""
        r = self.gw.runner
        r.remove_fd(self.fd)
        r.remove_writer(self.fd)
        c = self.conn
        if why == "done":
            if c is not None:
                c.close()
        else:
            if c is not None and c.state != CLOSED:
                c.abort()
            reset(self.sock)
        self.sock.close()       # a second close() of a socket is nothing
        self.state = why
