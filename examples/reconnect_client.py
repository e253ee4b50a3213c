"""A TCP client that keeps a session going across server restarts.

    python3 reconnect_client.py HOST [--port 7070] [--count 10] [--interval 0.2]
                                [--timeout 2] [--backoff 0.1] [--max-backoff 2] [--tries 30]
                                [--session NAME]
    python3 reconnect_client.py serve [--host ADDR] [--port 7070] [--count N]

The client says `HELLO SESSION NEXT` and then sends `MSG N` every --interval seconds; the
server answers each with `ACK N`. A message counts as delivered once its ACK is back. The
client notices that the server went away by a reset (ConnectionResetError, EPIPE), by the end
of the stream (recv() -> b""), or by an ACK not coming within --timeout; it then closes,
waits (--backoff, doubling up to --max-backoff: a restarting server is not hammered), connects
again and resumes with the first message not acknowledged: delivery is at least once (a
message whose ACK was lost is sent again), and the ACKs the client counts are 0..count-1 in
order. It gives up after --tries failed connection attempts in a row (exit status 1).

`serve` is the server for trying it: stateless, so a restarted one answers where the client
resumes. --count N: exit after N messages (0: never), as a crashing server would.
"""

import socket

from bufread import Reader
from exargs import parse, usage_error
from netsleep import sleep


class Lost(Exception):
    """The session's connection is gone; the argument says how."""


def answer(conn, peer, got, count=0, log=print):
    """Answer one connection's HELLO and MSG lines until it ends or `got` (the message
    numbers received, appended to) holds count of them (0: no limit). The caller closes conn."""
    rd = Reader(conn)
    while count == 0 or len(got) < count:
        words = rd.line().split()
        if not words:
            return
        if words[0] == b"HELLO" and len(words) == 3:
            log("hello from %s, session %s at %s" % (
                peer[0], words[1].decode(), words[2].decode()))
            conn.sendall(b"WELCOME " + words[1] + b"\n")
        elif words[0] == b"MSG" and len(words) == 2:
            got.append(int(words[1]))
            log("msg %d" % got[-1])
            conn.sendall(b"ACK " + words[1] + b"\n")


def serve(host="", port=7070, count=0, log=print):
    """Serve connections one by one until count messages came; -> their numbers, in order."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    got = []
    try:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(2)
        log("listening on %s:%d" % ls.getsockname())
        while count == 0 or len(got) < count:
            conn, peer = ls.accept()
            try:
                conn.settimeout(30)
                answer(conn, peer, got, count, log)
            except OSError as e:
                log("client gone: %s" % (e,))
            finally:
                conn.close()
    finally:
        ls.close()
    return got


class Session:
    def __init__(self, host, port, name, timeout, log):
        self.addr = (host, port)
        self.name = name
        self.timeout = timeout
        self.log = log
        self.next = 0          # the first message not acknowledged
        self.sock = None
        self.rd = None

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.addr)
        except OSError:
            s.close()
            raise
        self.sock = s
        self.rd = Reader(s)
        self.ask("HELLO %s %d" % (self.name, self.next), "WELCOME " + self.name)

    def ask(self, line, want):
        """Send line, wait for the answer `want`; Lost if the connection fails."""
        try:
            self.sock.sendall((line + "\n").encode())
            got = self.rd.line()
        except OSError as e:
            # ECONNRESET, EPIPE, or no answer within the timeout (TimeoutError; ETIMEDOUT on
            # MicroPython)
            raise Lost(str(e) or repr(e))
        if not got:
            raise Lost("the server closed the connection")
        if got.decode().strip() != want:
            raise Lost("unexpected answer %r" % got)

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = self.rd = None


def run(host, port=7070, count=10, interval=0.2, timeout=2.0, backoff=0.1,
        max_backoff=2.0, tries=30, name="s1", log=print):
    """Deliver messages 0..count-1; -> (acknowledged numbers, reconnections). OSError when the
    server stays away for `tries` attempts."""
    ses = Session(host, port, name, timeout, log)
    acked = []
    connects = 0
    failed = 0
    wait = backoff
    try:
        while ses.next < count:
            if ses.sock is None:
                try:
                    ses.connect()
                except (OSError, Lost) as e:
                    ses.close()
                    failed += 1
                    if failed >= tries:
                        raise OSError("gave up after %d attempts: %s" % (failed, e))
                    log("connect failed (%s); retry in %.2f s" % (e, wait))
                    sleep(wait)
                    wait = min(wait * 2, max_backoff)
                    continue
                connects += 1
                failed = 0
                wait = backoff
                log("connected (%d), resuming at %d" % (connects, ses.next))
            try:
                ses.ask("MSG %d" % ses.next, "ACK %d" % ses.next)
            except Lost as e:
                log("lost: %s" % e)
                ses.close()
                continue
            acked.append(ses.next)
            ses.next += 1
            if interval and ses.next < count:
                sleep(interval)
    finally:
        ses.close()
    return acked, connects - 1


def main(argv):
    o, rest = parse(argv, {"host": "", "port": 7070, "count": 10, "interval": 0.2,
                           "timeout": 2.0, "backoff": 0.1, "max_backoff": 2.0, "tries": 30,
                           "session": "s1"})
    if rest == ["serve"]:
        serve(o["host"], o["port"], o["count"])
        return 0
    if len(rest) != 1:
        usage_error("usage: reconnect_client.py HOST [options] | serve [options]")
    try:
        acked, re = run(rest[0], o["port"], o["count"], o["interval"], o["timeout"],
                        o["backoff"], o["max_backoff"], o["tries"], o["session"])
    except OSError as e:
        print("error: %s" % (e,))
        return 1
    print("delivered %d messages, %d reconnections" % (len(acked), re))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
