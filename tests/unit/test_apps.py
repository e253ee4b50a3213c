"""The TCP apps of `barenet serve` (echo, discard, chargen, HTTP status) driven by a barenet
client over the virtual wire."""

import hashlib
import json

import pytest

from barenet.apps.chargen import Chargen, _PATTERN
from barenet.apps.discard import Discard
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet_host.vwire import Sim

SERVER = "192.0.2.2"


def pair(**tcp):
    sim = Sim()
    wire = sim.wire()
    client, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", seed=1, **tcp)
    server, _ = sim.host(wire, "02:00:00:00:00:02", SERVER + "/24", seed=2, **tcp)
    return sim, client, server


class Client:
    """Sends `data` (then FIN) and collects everything received until the peer's FIN."""

    def __init__(self, sim, stack, port, data=b"", read=True, shut=True):
        self.conn = stack.tcp.connect(SERVER, port)
        self.data = memoryview(data)
        self.sent = 0
        self.shut = shut
        self.read = read
        self.got = bytearray()
        self.eof = False
        sim.add_task(self.poll, stack)

    def poll(self, now):
        c = self.conn
        if self.sent < len(self.data) and c.writable():
            self.sent += c.send(self.data[self.sent:self.sent + 65536])
        if self.shut and self.sent == len(self.data) and c.writable():
            c.shutdown_write()
        while self.read and not self.eof:
            d = c.recv(65536)
            if d is None:
                break
            if not d:
                self.eof = True
            self.got += d
        return None


def serve(sim, stack, app):
    sim.add_task(app.poll, stack)
    return app


def test_echo_returns_a_megabyte_byte_exact_then_closes():
    sim, client, server = pair()
    echo = serve(sim, server, TCPEcho(server, 7))
    data = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB
    c = Client(sim, client, 7, data)
    assert sim.run(until=lambda: c.eof, max_ms=120000)
    assert hashlib.sha256(c.got).digest() == hashlib.sha256(data).digest()
    assert echo.bytes == len(data) and not echo.conns


def test_echo_pushes_back_on_a_client_that_does_not_read():
    sim, client, server = pair(sndbuf=8192, rcvbuf=8192)
    echo = serve(sim, server, TCPEcho(server, 7))
    c = Client(sim, client, 7, bytes(200000), read=False, shut=False)
    sim.run(max_ms=5000)
    # Both directions' buffers fill, then everything stops: nothing accepted was dropped.
    assert 0 < c.sent < 200000
    assert echo.bytes <= c.sent
    c.read = True
    c.shut = True
    assert sim.run(until=lambda: c.eof, max_ms=120000)
    assert bytes(c.got) == bytes(200000)


def test_discard_swallows_everything():
    sim, client, server = pair()
    d = serve(sim, server, Discard(server, 9))
    c = Client(sim, client, 9, b"x" * 300000)
    assert sim.run(until=lambda: c.eof, max_ms=60000)
    assert c.got == b"" and d.stats["accepted"] == 1


def test_chargen_sends_the_rfc_864_pattern():
    sim, client, server = pair()
    serve(sim, server, Chargen(server, 19))
    c = Client(sim, client, 19, shut=False)
    assert sim.run(until=lambda: len(c.got) >= 3 * len(_PATTERN), max_ms=60000)
    lines = bytes(c.got).split(b"\r\n")[:96]
    assert all(len(l) == 72 for l in lines)
    assert lines[0] == bytes(range(32, 104)) and lines[1] == bytes(range(33, 105))
    assert lines[95] == lines[0]  # the pattern repeats after 95 lines
    c.conn.close()


def fetch(sim, stack, request):
    c = Client(sim, stack, 80, request, shut=False)
    assert sim.run(until=lambda: c.eof, max_ms=30000)
    head, _, body = bytes(c.got).partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def test_status_page_html_and_json():
    sim, client, server = pair()
    serve(sim, server, StatusPage(server, 80))
    head, body = fetch(sim, client, b"GET / HTTP/1.1\r\nHost: barenet\r\n\r\n")
    assert head[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Type: text/html; charset=utf-8" in head
    assert b"Content-Length: %d" % len(body) in head
    assert b"<h1>barenet status</h1>" in body and b"ESTABLISHED" in body
    head, body = fetch(sim, client, b"GET /?format=json HTTP/1.1\r\nHost: barenet\r\n\r\n")
    doc = json.loads(body)
    assert doc["stats"]["tcp"]["established"] >= 2
    assert doc["interfaces"][0]["ip"] == SERVER + "/24"
    (conn,) = [x for x in doc["connections"] if x["state"] == "ESTABLISHED"]
    for key in ("cwnd", "ssthresh", "srtt_ms", "rttvar_ms", "rto_ms", "snd_wnd", "rcv_wnd", "retransmits"):
        assert key in conn
    assert conn["local"] == SERVER + ":80"


@pytest.mark.parametrize("request_,status", [
    (b"GET /nope HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 Not Found"),
    (b"POST / HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed"),
    (b"garbage\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 5000, b"HTTP/1.1 431 Request Header Fields Too Large"),
])
def test_status_page_errors(request_, status):
    sim, client, server = pair()
    serve(sim, server, StatusPage(server, 80))
    head, _ = fetch(sim, client, request_)
    assert head[0] == status


def test_head_has_no_body():
    sim, client, server = pair()
    serve(sim, server, StatusPage(server, 80))
    head, body = fetch(sim, client, b"HEAD / HTTP/1.1\r\n\r\n")
    assert head[0] == b"HTTP/1.1 200 OK" and body == b""


def test_status_page_closes_on_a_silent_client_by_its_own_timer():
    sim, client, server = pair()
    page = StatusPage(server, 80)
    waits = []
    sim.add_task(lambda now: waits.append(page.poll(now)) or waits[-1])
    c = Client(sim, client, 80, b"GET / HTTP/1.1\r\n", shut=False)  # never finishes the request
    assert sim.run(until=lambda: page.conns, max_ms=1000)
    assert any(w is not None and 0 < w <= 10000 for w in waits)  # the app asked to be woken
    assert sim.run(until=lambda: c.eof or not page.conns, max_ms=11000)
    assert not page.conns


def test_a_server_serves_only_the_connections_whose_readiness_fired():
    # 100 clients connected and idle, one talking: the idle ones are not served again
    sim, client, server = pair(profile="host")
    echo = serve(sim, server, TCPEcho(server, 7, max_per_peer=101))
    idle = [client.tcp.connect(SERVER, 7) for _ in range(100)]
    assert sim.run(until=lambda: len(echo.conns) == 100, max_ms=2000)
    served = []
    real = echo.serve
    echo.serve = lambda c, st, now: served.append(c) or real(c, st, now)
    c = Client(sim, client, 7, b"ping" * 1000)
    assert sim.run(until=lambda: c.eof, max_ms=5000) and bytes(c.got) == b"ping" * 1000
    assert served and all(k is served[0] for k in served), len(set(served))
    assert all(i.info()["state"] == "ESTABLISHED" for i in idle)
