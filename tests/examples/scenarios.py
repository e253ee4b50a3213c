"""The examples over barenet on a virtual wire, each program on its own stack, taking turns
(barenet_host/turns.py). Shared by the CPython test (test_examples_vwire.py) and the MicroPython
VM (vm_examples.py): each scenario returns plain data (JSON in the VM) that the test checks.

Addresses: the server (or the first device) is 192.0.2.1, the client 192.0.2.2, more devices
192.0.2.3 and up. The clock starts just before the tick counter wraps.
"""

import sys

from barenet import ticks
from barenet_host.turns import Turns
from barenet_host.vwire import Sim

SERVER = "192.0.2.1"
EXAMPLES = ("bufread", "exargs", "netsleep", "http_server", "http_client", "udp_discovery",
            "oob_interrupt", "reconnect_client")


def example(name):
    """The example module imported afresh, so its `import socket` is whatever is installed."""
    for m in EXAMPLES:
        if m in sys.modules:
            del sys.modules[m]
    return __import__(name)


def world(hosts, profile):
    sim = Sim(ticks.PERIOD - 3000)
    wire = sim.wire()
    stacks = []
    for i in range(1, hosts + 1):
        s, _ = sim.host(wire, "02:00:00:00:00:%02x" % i, "192.0.2.%d/24" % i, profile=profile)
        stacks.append(s)
    return Turns(sim), stacks


def _raw_exchange(request, port=80):
    """One connection: send request, read to the end of the stream."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((SERVER, port))
    s.sendall(request)
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def _chunked_server(port):
    """A server that answers one request with a chunked body (the example server never does)."""
    import socket
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("", port))
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


def http(profile="host"):
    turns, (srv, cli) = world(2, profile)
    log = []

    def server():
        hs = example("http_server")
        ls = hs.listen("", 80)
        try:
            hs.serve(ls, 5, 2.0, log.append)
        finally:
            ls.close()
        return _chunked_server(81)

    def client():
        hc = example("http_client")
        r = {}
        # keep-alive: three requests on one connection, the last one asks to close
        r["pipelined"] = _raw_exchange(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n"
            b"\r\nab\r\nc")
        r["bad"] = _raw_exchange(b"NONSENSE\r\n\r\n")
        r["http10"] = _raw_exchange(b"GET /hello?name=ten HTTP/1.0\r\n\r\n")
        r["get"] = _get(hc, "http://%s/hello?name=vm" % SERVER)
        r["main"] = hc.main(["http://%s/" % SERVER, "--timeout", "5"])
        r["chunked"] = _get(hc, "http://%s:81/c" % SERVER)
        return r

    turns.spawn(srv, server)
    turns.spawn(cli, client)
    chunked_req, r = turns.run()
    r["log"] = log
    r["chunked_request"] = chunked_req
    return r


def discovery(profile="host"):
    turns, stacks = world(4, profile)
    logs = {}

    def device(name):
        def run():
            ud = example("udp_discovery")
            logs[name] = []
            # two queries: the limited broadcast, then the subnet's directed broadcast
            return ud.answer(name, 30303, "", 2, 5.0, logs[name].append)
        return run

    def finder():
        ud = example("udp_discovery")
        limited = ud.find(30303, "255.255.255.255", "", 1.0)
        directed = ud.find(30303, "192.0.2.255", "", 1.0)
        return [limited, directed]

    turns.spawn(stacks[0], device("dev-a"))
    turns.spawn(stacks[1], finder)
    turns.spawn(stacks[2], device("dev-c"))
    turns.spawn(stacks[3], device("dev-d"))
    answered_a, found, answered_c, answered_d = turns.run()
    return {"found": found, "answered": [answered_a, answered_c, answered_d], "logs": logs}


def oob(inline, pause, profile="host"):
    turns, (srv, cli) = world(2, profile)
    log = []

    def server():
        ob = example("oob_interrupt")
        ob.serve("", 23, inline, 1, 0.05, log.append)

    def client():
        ob = example("oob_interrupt")
        return ob.client(SERVER, 23, 20, 3, pause, 10.0)

    turns.spawn(srv, server)
    turns.spawn(cli, client)
    lines = turns.run()[1]
    return {"lines": lines, "log": log}


def reconnect(profile="host", count=8, first=3):
    turns, (srv, cli) = world(2, profile)
    log = []

    def server():
        rc = example("reconnect_client")
        got = rc.serve("", 7070, first, log.append)
        example("netsleep").sleep(1.5)        # the server is down for a while
        return got + rc.serve("", 7070, count - first, log.append)

    def client():
        rc = example("reconnect_client")
        return list(rc.run(SERVER, 7070, count, 0.2, 2.0, 0.1, 2.0, 30, "s1", log.append))

    turns.spawn(srv, server)
    turns.spawn(cli, client)
    got, (acked, reconnections) = turns.run()
    return {"got": got, "acked": acked, "reconnections": reconnections, "log": log}
