"""The examples as programs on hosts of a world, shared by every target:

- BarenetWorld: barenet on a virtual wire, each program on its own stack, taking turns
  (barenet_host/turns.py); in CPython and in the MicroPython VM (vm_examples.py). Hosts
  192.0.2.1 (the server, the first device), .2 (the client), .3 and up (more devices); the
  clock starts just before the tick counter wraps.
- KernelWorld (kernel_world.py): CPython's own sockets on 127.0.0.1, programs in threads: the
  reference.

A scenario returns plain data (JSON from the VM) that test_examples.py checks the same way for
every world. A world has: load(name) (the example module, its `import socket` the world's),
spawn(host, fn), run() (each program's return value, in spawn order), ip(host), port(name),
and for discovery `devices`, `device_bind`, `finder_bind`, `broadcasts`.
"""

import sys

from barenet import ticks
from barenet_host.turns import Turns
from barenet_host.vwire import Sim

EXAMPLES = ("bufread", "exargs", "netsleep", "http_server", "http_client", "udp_discovery",
            "oob_interrupt", "reconnect_client")


def fresh(name):
    """The example module imported afresh, so its `import socket` is whatever is installed."""
    for m in EXAMPLES:
        if m in sys.modules:
            del sys.modules[m]
    return __import__(name)


class BarenetWorld:
    devices = 3
    device_bind = finder_bind = ""
    broadcasts = ("255.255.255.255", "192.0.2.255")   # limited, and the subnet's directed
    PORTS = {"http": 80, "chunked": 81, "oob": 23, "session": 7070, "discovery": 30303}

    def __init__(self, profile="host"):
        self.profile = profile
        self.sim = Sim(ticks.PERIOD - 3000)
        self.wire = self.sim.wire()
        self.turns = Turns(self.sim)
        self.stacks = {}

    def ip(self, host):
        return "192.0.2.%d" % (host + 1)

    def port(self, name):
        return self.PORTS[name]

    def _stack(self, host):
        if host not in self.stacks:
            s, _ = self.sim.host(self.wire, "02:00:00:00:00:%02x" % (host + 1),
                                 self.ip(host) + "/24", profile=self.profile)
            self.stacks[host] = s
        return self.stacks[host]

    def load(self, name):
        self.turns.install(self._stack(0))    # set-up code acts on the server's host
        return fresh(name)

    def spawn(self, host, fn):
        self.turns.spawn(self._stack(host), fn)

    def run(self):
        return self.turns.run()


def _raw_exchange(addr, request):
    """One connection: send request, read to the end of the stream."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(addr)
    s.sendall(request)
    from bufread import Reader     # the examples' own reader
    out = Reader(s).rest()
    s.close()
    return out.decode()


def _chunked_server(addr):
    """A server that answers one request with a chunked body (the example server never does)."""
    import socket
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr)
    ls.listen(1)
    conn, _ = ls.accept()
    conn.settimeout(10)
    req = b""
    while b"\r\n\r\n" not in req:
        req += conn.recv(1024)
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"5\r\nhello\r\n7;ext=1\r\n, world\r\n1\r\n\n\r\n0\r\nX-Trailer: t\r\n\r\n")
    conn.close()
    ls.close()
    return req.split(b"\r\n")[0].decode()


def _get(hc, url):
    code, reason, headers, body = hc.get(url, 10.0)
    return [code, reason, [list(h) for h in headers], body.decode()]


def http(w):
    hs = w.load("http_server")
    hc = w.load("http_client")
    srv = (w.ip(0), w.port("http"))
    chunked = (w.ip(0), w.port("chunked"))
    log = []
    ls = hs.listen(*srv)

    def server():
        try:
            hs.serve(ls, 5, 2.0, log.append)
        finally:
            ls.close()

    def chunked_server():
        return _chunked_server(chunked)

    def client():
        r = {}
        # keep-alive: three requests on one connection, the last one asks to close
        r["pipelined"] = _raw_exchange(srv,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n"
            b"\r\nab\r\nc")
        r["bad"] = _raw_exchange(srv, b"NONSENSE\r\n\r\n")
        r["http10"] = _raw_exchange(srv, b"GET /hello?name=ten HTTP/1.0\r\n\r\n")
        r["get"] = _get(hc, "http://%s:%d/hello?name=vm" % srv)
        r["main"] = hc.main(["http://%s:%d/" % srv, "--timeout", "5"])
        r["chunked"] = _get(hc, "http://%s:%d/c" % chunked)
        return r

    w.spawn(0, server)
    w.spawn(0, chunked_server)   # a second program on the server's host
    w.spawn(1, client)
    _, chunked_req, r = w.run()
    r["log"] = log
    r["chunked_request"] = chunked_req
    r["client_ip"] = w.ip(1)
    return r


def discovery(w):
    ud = w.load("udp_discovery")
    port = w.port("discovery")
    logs = {}
    names = ["dev-%d" % (i + 1) for i in range(w.devices)]
    hosts = [0] + list(range(2, w.devices + 1))

    def device(name):
        def run():
            logs[name] = []
            # until 3 s without a query
            return ud.answer(name, port, w.device_bind, 0, 3.0, logs[name].append)
        return run

    def finder():
        # twice each: a device not bound yet (kernel threads) answers the second query
        return [ud.find(port, to, w.finder_bind, 0.5, 0, 2) for to in w.broadcasts]

    for name, host in zip(names, hosts):
        w.spawn(host, device(name))
    w.spawn(1, finder)
    r = w.run()
    return {"found": r[-1], "answered": r[:-1], "logs": logs, "broadcasts": list(w.broadcasts),
            "want": [[n, w.ip(h)] for n, h in zip(names, hosts)]}


def oob(w, inline, pause):
    ob = w.load("oob_interrupt")
    port = w.port("oob")
    log = []
    ls = ob.listen(w.ip(0), port, inline)

    def server():
        try:
            ob.serve(ls, inline, 1, 0.2, log.append)
        finally:
            ls.close()

    def client():
        return ob.client(w.ip(0), port, 20, 3, pause, 10.0)

    w.spawn(0, server)
    w.spawn(1, client)
    lines = w.run()[1]
    return {"lines": lines, "log": log}


def check_oob(lines, before=20, after=3):
    """What an oob_interrupt client prints must be: `ok` for a prefix of the lines before the
    mark, one interrupt that dropped exactly the rest of them, every line after it, `bye`.
    -> how many lines before the mark were processed."""
    assert lines[-1] == "bye", lines
    marks = [i for i, x in enumerate(lines) if x.startswith("interrupt: dropped ")]
    assert len(marks) == 1, lines
    k = marks[0]
    assert lines[:k] == ["ok before %d" % i for i in range(k)], lines
    dropped = 0
    for i in range(k, before):
        dropped += len("before %d\n" % i)
    assert lines[k] == "interrupt: dropped %d bytes" % dropped, lines
    # after the mark nothing is lost, and the urgent byte never shows in band
    assert lines[k + 1:-1] == ["ok after %d" % i for i in range(after)], lines
    return k


def reconnect(w, count=8, first=3):
    rc = w.load("reconnect_client")
    ns = w.load("netsleep")
    port = w.port("session")
    log = []

    def server():
        got = rc.serve(w.ip(0), port, first, log.append)
        ns.sleep(1.5)        # the server is down for a while
        return got + rc.serve(w.ip(0), port, count - first, log.append)

    return _session(w, rc, server, count, 2.0, log)


def _session(w, rc, server, count, timeout, log):
    """Run server() on the server's host and the example's client on the client's."""
    def client():
        return list(rc.run(w.ip(0), w.port("session"), count, 0.2, timeout, 0.1, 2.0, 30,
                           "s1", log.append))

    w.spawn(0, server)
    w.spawn(1, client)
    got, (acked, reconnections) = w.run()
    return {"got": got, "acked": acked, "reconnections": reconnections, "log": log}


def reconnect_silent(w, count=4):
    """The server answers HELLO and MSG 0, then says nothing more on that connection (it
    stays open): the client must give up on it after its timeout and come back."""
    rc = w.load("reconnect_client")
    port = w.port("session")
    log = []
    import socket
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((w.ip(0), port))
    ls.listen(2)

    def server():
        got = []
        c1, p1 = ls.accept()
        c1.settimeout(30)
        rc.answer(c1, p1, got, 1, log.append)     # then silence
        c2, p2 = ls.accept()
        c2.settimeout(30)
        rc.answer(c2, p2, got, count, log.append)
        for s in (c1, c2, ls):
            s.close()
        return got

    return _session(w, rc, server, count, 1.0, log)
