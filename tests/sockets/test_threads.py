"""Threads against one stack (issue 9 item 4, CPython): blocking calls from several threads at
once, on the kernel's sockets and on barenet's with the stack in its own thread. Every call
has a timeout and every thread is joined with one, so a deadlock fails the test instead of
hanging it; transfers are checked byte-exact by hash."""

import hashlib
import threading

T = 10.0          # s: any single blocking call
JOIN_S = 60.0


def _data(seed, n):
    return hashlib.shake_256(b"%d" % seed).digest(n)


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert not [t.name for t in threads if t.is_alive()], "deadlocked"


class Worker(threading.Thread):
    """A thread whose exception fails the test (re-raised by check())."""

    def __init__(self, fn, *args):
        threading.Thread.__init__(self, daemon=True)
        self.fn, self.args, self.error, self.result = fn, args, None, None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:
            self.error = e

    def check(self):
        if self.error is not None:
            raise self.error
        return self.result


def test_thread_per_client_echo_server(tnet):
    """An accept thread hands each connection to its own echo thread; 8 client threads at
    once send 50 blocks of 4 kB each and read each block back before the next."""
    n, blocks, size = 8, 50, 4096
    lst = tnet.srv.socket(tnet.srv.AF_INET, tnet.srv.SOCK_STREAM)
    lst.bind((tnet.srv_ip, 0))
    lst.listen(n)
    lst.settimeout(T)
    addr = lst.getsockname()
    echoers = []

    def echo(s):
        with s:
            while True:
                d = s.recv(65536)
                if not d:
                    return
                s.sendall(d)

    def serve():
        for _ in range(n):
            s, _ = lst.accept()
            s.settimeout(T)
            w = Worker(echo, s)
            echoers.append(w)
            w.start()

    def client(i):
        data = _data(i, blocks * size)
        back = bytearray()
        with tnet.cli.create_connection(addr, T) as c:
            for k in range(blocks):
                c.sendall(data[k * size:(k + 1) * size])
                while len(back) < (k + 1) * size:
                    d = c.recv(65536)
                    assert d, "the echo ended early"
                    back += d
        return hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()

    server = Worker(serve)
    clients = [Worker(client, i) for i in range(n)]
    _run([server] + clients)
    server.check()
    assert [c.check() for c in clients] == [True] * n
    for w in echoers:
        w.join(JOIN_S)
        assert not w.is_alive()
        w.check()
    lst.close()


def test_one_socket_two_threads_full_duplex(tnet):
    """A writer thread in sendall and a reader thread in recv on the same socket at once
    (the lock is released while either waits): 1 MB through an echo, byte-exact."""
    total = 1 << 20
    lst = tnet.srv.socket(tnet.srv.AF_INET, tnet.srv.SOCK_STREAM)
    lst.bind((tnet.srv_ip, 0))
    lst.listen(1)
    lst.settimeout(T)
    c = tnet.cli.create_connection(lst.getsockname(), T)
    s, _ = lst.accept()
    s.settimeout(T)
    data = _data(7, total)

    def echo():
        while True:
            d = s.recv(65536)
            if not d:
                s.close()
                return
            s.sendall(d)

    def write():
        c.sendall(data)
        c.shutdown(tnet.cli.SHUT_WR)

    def read():
        got = bytearray()
        while True:
            d = c.recv(65536)
            if not d:
                return bytes(got)
            got += d

    workers = [Worker(echo), Worker(write), Worker(read)]
    _run(workers)
    for w in workers:
        w.check()
    assert workers[2].result == data
    c.close()
    lst.close()


def test_threads_blocked_on_different_sockets_wake_independently(tnet):
    """Four threads block in recvfrom on four UDP sockets; datagrams sent to them in reverse
    order wake each with its own, and a fifth thread's recv times out meanwhile."""
    socks = []
    for _ in range(5):
        u = tnet.srv.socket(tnet.srv.AF_INET, tnet.srv.SOCK_DGRAM)
        u.bind((tnet.srv_ip, 0))
        u.settimeout(T)
        socks.append(u)
    socks[4].settimeout(0.3)

    def recv(u):
        try:
            return u.recvfrom(100)[0]
        except OSError as e:
            return type(e).__name__

    workers = [Worker(recv, u) for u in socks]
    for w in workers:
        w.start()
    v = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_DGRAM)
    for i in reversed(range(4)):
        v.sendto(b"to %d" % i, socks[i].getsockname())
    for w in workers:
        w.join(JOIN_S)
        assert not w.is_alive()
    assert [w.check() for w in workers] == [b"to 0", b"to 1", b"to 2", b"to 3", "TimeoutError"]
    for u in socks + [v]:
        u.close()
