"""The TCP apps of `barenet serve` (echo, discard, chargen, HTTP status) driven by a barenet
client over the virtual wire."""

import hashlib
import json

import pytest

from barenet.apps.chargen import CYCLE, Chargen
from barenet.apps.discard import Discard
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet_host.faults import FaultModel
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
        self.reset = False
        self.eof_ms = None
        self.sim = sim
        sim.add_task(self.poll, stack)

    def poll(self, now):
        if self.eof or self.reset:
            return None
        try:
            self._poll()
        except OSError:
            self.reset = True       # the server refused or aborted us
        return None

    def _poll(self):
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
                self.eof_ms = self.sim.ms
            self.got += d


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
    assert sim.run(until=lambda: len(c.got) >= 3 * CYCLE, max_ms=60000)
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
    # the NIC's counters (nic.py) as they were when the page was made
    nic = doc["interfaces"][0]["nic"]
    assert sorted(nic) == sorted(server.interfaces[0].nic.stats)
    assert 3 <= nic["rx"] <= server.interfaces[0].nic.stats["rx"]
    (conn,) = [x for x in doc["connections"] if x["state"] == "ESTABLISHED"]
    for key in ("cwnd", "ssthresh", "srtt_ms", "rttvar_ms", "rto_ms", "snd_wnd", "rcv_wnd", "retransmits"):
        assert key in conn
    # RFC 7323: both barenet stacks agree to timestamps, and the RTT comes from TSecr
    assert conn["timestamps"] is True and conn["ts_rtt_samples"] >= 1, conn
    assert b"<th>timestamps</th>" in bytes(fetch(sim, client, b"GET / HTTP/1.1\r\n\r\n")[1])
    assert conn["local"] == SERVER + ":80"


def test_status_page_shows_ecn_and_undo_state():
    # issue 14 item 8: the RTT's source, D-SACK and undo counts, ECN state, in JSON and HTML
    sim, client, server = pair(ecn=True)
    serve(sim, server, StatusPage(server, 80))
    head, body = fetch(sim, client, b"GET /?format=json HTTP/1.1\r\n\r\n")
    (conn,) = [x for x in json.loads(body)["connections"] if x["state"] == "ESTABLISHED"]
    assert conn["rtt_source"] == "ts" and conn["ecn"] is True, conn
    assert conn["dsack_received"] == 0 and conn["undo_count"] == 0 and conn["ecn_reductions"] == 0
    body = bytes(fetch(sim, client, b"GET / HTTP/1.1\r\n\r\n")[1])
    for col in (b"rtt_source", b"dsack_received", b"undo_count", b"ecn", b"ecn_reductions"):
        assert b"<th>" + col + b"</th>" in body
    sim, client, server = pair(timestamps=False)
    serve(sim, server, StatusPage(server, 80))
    head, body = fetch(sim, client, b"GET /?format=json HTTP/1.1\r\n\r\n")
    (conn,) = [x for x in json.loads(body)["connections"] if x["state"] == "ESTABLISHED"]
    assert conn["rtt_source"] == "karn" and conn["ecn"] is False, conn


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


# -- limits: per app, per peer, idle (apps/server.py) -----------------------------------------

def hosts(*ips, **tcp):
    """A server at SERVER and one client stack per address in ips, on one wire."""
    sim = Sim()
    wire = sim.wire()
    clients = [sim.host(wire, "02:00:00:00:01:%02x" % i, ip + "/24", seed=10 + i, **tcp)[0]
               for i, ip in enumerate(ips)]
    server, _ = sim.host(wire, "02:00:00:00:00:02", SERVER + "/24", seed=2, **tcp)
    return sim, server, clients


def every(sim, period_ms, fn):
    """A task that calls fn() once every period_ms of virtual time (tasks run every step)."""
    due = [sim.ms]

    def task(now):
        if sim.ms >= due[0]:
            due[0] = sim.ms + period_ms
            fn()
        return due[0] - sim.ms
    return task


def echoes(sim, client, payload=b"ping"):
    """A fresh client that sends payload, then FIN; True once it has it back and the end."""
    c = Client(sim, client, 7, payload)
    return sim.run(until=lambda: c.eof or c.reset, max_ms=5000) and bytes(c.got) == payload


def test_a_peer_past_its_limit_is_refused_and_the_others_are_served():
    sim, server, (greedy, other) = hosts("192.0.2.10", "192.0.2.1")
    echo = serve(sim, server, TCPEcho(server, 7, max_conns=4, max_per_peer=2))
    held = [Client(sim, greedy, 7, shut=False) for _ in range(2)]
    assert sim.run(until=lambda: len(echo.conns) == 2, max_ms=2000)
    extra = Client(sim, greedy, 7, shut=False)
    assert sim.run(until=lambda: extra.reset, max_ms=2000)     # refused with a reset
    assert echo.stats["refused_per_peer"] == 1 and len(echo.conns) == 2
    assert echoes(sim, other)                                   # another address gets in
    assert server.stats["app_echo7"]["refused_per_peer"] == 1   # shown beside the layers
    assert not any(h.reset or h.eof for h in held)


def test_a_full_app_closes_the_connection_idle_longest_for_a_newcomer():
    sim, server, (a, b) = hosts("192.0.2.10", "192.0.2.11")
    echo = serve(sim, server, TCPEcho(server, 7, max_conns=2))
    first = Client(sim, a, 7, shut=False)
    assert sim.run(until=lambda: len(echo.conns) == 1, max_ms=2000)
    second = Client(sim, b, 7, shut=False)
    assert sim.run(until=lambda: len(echo.conns) == 2, max_ms=2000)
    sim.run(max_ms=3000)
    first.conn.send(b"still here")        # first is now the more recently active one
    assert sim.run(until=lambda: bytes(first.got) == b"still here", max_ms=2000)
    sim.run(max_ms=2000)                  # both idle past app_evict_idle_ms, second longer
    assert echoes(sim, a)
    assert echo.stats["evicted_idle"] == 1
    assert second.eof and not first.eof and not first.reset   # graceful: nothing was unsent


def test_a_full_app_with_no_idle_connection_keeps_the_newcomer_waiting():
    sim, server, (a, b) = hosts("192.0.2.10", "192.0.2.11")
    echo = serve(sim, server, TCPEcho(server, 7, max_conns=1))
    talker = Client(sim, a, 7, shut=False)
    assert sim.run(until=lambda: len(echo.conns) == 1, max_ms=2000)

    sim.add_task(every(sim, 200, lambda: talker.conn.send(b"x")), a)   # never idle
    newcomer = Client(sim, b, 7, b"ping", shut=False)
    sim.run(max_ms=5000)
    assert not newcomer.got and not newcomer.reset                # waits in the accept queue
    assert echo.stats["deferred_full"] == 1 and "evicted_idle" not in echo.stats
    talker.conn.close()                   # the talker leaves: the newcomer is served
    assert sim.run(until=lambda: bytes(newcomer.got) == b"ping", max_ms=3000)


def test_an_idle_echo_client_is_closed_after_the_idle_timeout_and_a_talking_one_is_not():
    sim, server, (a,) = hosts("192.0.2.10")
    echo = serve(sim, server, TCPEcho(server, 7, idle_ms=10000))
    idle = Client(sim, a, 7, shut=False)
    chatty = Client(sim, a, 7, shut=False)
    sim.add_task(every(sim, 5000, lambda: chatty.conn.send(b"x")), a)
    start = sim.ms
    assert sim.run(until=lambda: idle.eof, max_ms=20000)
    assert 10000 <= idle.eof_ms - start < 11000
    sim.run(max_ms=30000)
    assert not chatty.eof and len(chatty.got) >= 6
    assert echo.stats["closed_idle"] == 1


def test_chargen_to_a_reader_is_not_idle_but_to_a_shut_window_it_is():
    sim, server, (a,) = hosts("192.0.2.10", sndbuf=8192, rcvbuf=8192)
    gen = serve(sim, server, Chargen(server, 19, idle_ms=5000))
    reader = Client(sim, a, 19, shut=False, read=False)
    Client(sim, a, 19, shut=False, read=False)      # never reads: its window stays shut
    got = []
    sim.add_task(every(sim, 500, lambda: got.append(reader.conn.recv(4000))), a)  # slowly
    sim.run(max_ms=15000)
    # Persist probes keep the stuck client answering, but it accepts no byte: idle, and
    # aborted since data waited for it (no FIN stuck behind a shut window).
    ports = [c.info()["remote"][1] for c in server.tcp.connections()]
    assert ports == [reader.conn.lport]
    assert reader.conn.info()["state"] == "ESTABLISHED"
    assert sum(len(g) for g in got if g) > 40000
    assert gen.stats["closed_idle"] == 1 and len(gen.conns) == 1


# -- the status page: persistent connections, pipelining, who closes (apps/status.py) -------

def responses(data):
    """The responses in data, framed by Content-Length: [(head lines, body)]."""
    out = []
    data = bytes(data)
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        n = [int(l[15:]) for l in lines if l.startswith(b"Content-Length:")][0]
        out.append((lines, rest[:n]))
        data = rest[n:]
    return out


def whole(data, n=1):
    """True once data holds n whole responses (each with its Content-Length of body)."""
    r = responses(data) if b"\r\n\r\n" in data else []
    return len(r) >= n and all(len(body) == int([l[15:] for l in head if
                                                  l.startswith(b"Content-Length:")][0])
                               for head, body in r)


def fins(sniffer):
    """The source ports of the FIN segments a sniffer port saw, in order."""
    from scapy.layers.inet import TCP as ScapyTCP
    from scapy.layers.l2 import Ether
    return [Ether(f)[ScapyTCP].sport for f in sniffer.received
            if ScapyTCP in Ether(f) and Ether(f)[ScapyTCP].flags & 1]


def page_pair():
    sim = Sim()
    wire = sim.wire()
    client, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", seed=1)
    server, _ = sim.host(wire, "02:00:00:00:00:02", SERVER + "/24", seed=2)
    page = serve(sim, server, StatusPage(server, 80))
    return sim, client, server, page, wire.nic()


def test_http_1_1_keeps_the_connection_for_the_next_request():
    sim, client, server, page, _ = page_pair()
    c = Client(sim, client, 80, b"GET / HTTP/1.1\r\nHost: b\r\n\r\n", shut=False)
    assert sim.run(until=lambda: whole(c.got), max_ms=3000)
    c.conn.send(b"GET /?format=json HTTP/1.1\r\nHost: b\r\n\r\n")
    assert sim.run(until=lambda: whole(c.got, 2), max_ms=3000)
    (h1, _), (h2, b2) = responses(c.got)
    assert h1[0] == h2[0] == b"HTTP/1.1 200 OK" and json.loads(b2)["stats"]
    assert not any(l.lower().startswith(b"connection:") for l in h1)   # persistent by default
    assert not c.eof and page.stats["requests"] == 2


def test_a_keep_alive_connection_idle_between_requests_is_closed():
    sim, client, server, page, _ = page_pair()
    c = Client(sim, client, 80, b"GET / HTTP/1.1\r\n\r\n", shut=False)
    assert sim.run(until=lambda: whole(c.got), max_ms=3000)
    done = sim.ms
    assert sim.run(until=lambda: c.eof, max_ms=10000)
    assert 5000 <= c.eof_ms - done < 5500     # http_idle_ms, as Apache's KeepAliveTimeout
    assert page.stats["closed_idle"] == 1


def test_pipelined_requests_are_answered_in_order():
    sim, client, server, page, _ = page_pair()
    c = Client(sim, client, 80, b"GET /nope HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n"
               b"GET /?format=json HTTP/1.1\r\nConnection: close\r\n\r\n", shut=False)
    assert sim.run(until=lambda: c.eof, max_ms=10000)
    got = bytes(c.got)
    first, second, third = got.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"404") and second.startswith(b"200")
    assert third.startswith(b"200") and b"Connection: close" in third
    assert json.loads(third.partition(b"\r\n\r\n")[2])["interfaces"]
    assert second.endswith(b"\r\n\r\n")      # HEAD: no body
    assert page.stats["requests"] == 3


class ClosingClient(Client):
    """Closes as soon as it has one whole response (as curl does after Connection: close)."""

    def _poll(self):
        Client._poll(self)
        if whole(self.got) and not self.conn.fin_queued:
            self.conn.close()


def test_connection_close_is_honoured_and_the_client_closes_first():
    sim, client, server, page, sniffer = page_pair()
    c = ClosingClient(sim, client, 80, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", shut=False)
    sim.run(max_ms=5000)
    ((head, body),) = responses(c.got)
    assert b"Connection: close" in head and b"barenet status" in body
    order = fins(sniffer)
    assert order == [c.conn.lport, 80]        # the client's FIN first: it holds the TIME_WAIT
    assert c.conn.info()["state"] == "TIME_WAIT"
    assert not page.conns


def test_after_connection_close_the_page_lingers_then_closes_first_itself():
    sim, client, server, page, sniffer = page_pair()
    c = Client(sim, client, 80, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", shut=False)
    assert sim.run(until=lambda: whole(c.got), max_ms=3000)
    done = sim.ms
    sim.run(until=lambda: fins(sniffer), max_ms=5000)
    assert fins(sniffer) == [80]
    assert 2000 <= sim.ms - done < 2500       # http_linger_ms, waiting for a FIN that never came
    assert sim.run(until=lambda: c.eof, max_ms=1000)


def test_http_1_0_without_keep_alive_is_closed_by_the_page_and_with_it_kept():
    sim, client, server, page, sniffer = page_pair()
    c = Client(sim, client, 80, b"GET / HTTP/1.0\r\n\r\n", shut=False)
    assert sim.run(until=lambda: c.eof, max_ms=3000)
    assert b"Connection: close" in responses(c.got)[0][0] and fins(sniffer) == [80]
    k = Client(sim, client, 80, b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", shut=False)
    assert sim.run(until=lambda: whole(k.got), max_ms=3000)
    assert b"Connection: keep-alive" in responses(k.got)[0][0]
    sim.run(max_ms=1000)
    assert not k.eof


def test_a_slowloris_head_is_cut_at_its_deadline_though_never_idle():
    sim, client, server, page, _ = page_pair()
    c = Client(sim, client, 80, shut=False)
    sim.add_task(every(sim, 1000, lambda: c.conn.writable() and c.conn.send(b"a")), client)
    start = sim.ms
    assert sim.run(until=lambda: c.eof or c.reset, max_ms=20000)
    assert 10000 <= sim.ms - start < 11500    # http_head_ms after the connection
    assert page.stats["timed_out"] == 1 and "closed_idle" not in page.stats


def test_a_response_the_client_does_not_take_is_cut_at_the_send_deadline():
    sim, client, server, _, _ = page_pair()
    page = serve(sim, server, StatusPage(server, 8080, idle_ms=10 ** 6))  # the send bound alone
    page.html = lambda: "x" * 100000           # more than both windows hold
    Client(sim, client, 8080, b"GET / HTTP/1.1\r\n\r\n", read=False, shut=False)
    assert sim.run(until=lambda: page.conns, max_ms=1000)
    start = sim.ms
    assert sim.run(until=lambda: not page.conns, max_ms=40000)
    assert 30000 <= sim.ms - start < 31000     # http_send_ms
    assert page.stats["timed_out"] == 1
    assert not [x for x in server.tcp.connections() if x.info()["local"][1] == 8080]  # reset


def test_status_page_samples_each_connection_into_a_bounded_ring():
    # Sampling on (a board's is off): every 100 ms, rings of 4 (config status_samples).
    sim, client, server = pair(status_samples=4, status_sample_ms=100)
    for stack in (client, server):     # a 10 Mbit/s link with 5 ms delay: time passes
        stack.interfaces[0].nic.faults = FaultModel(delay_ms=5, bandwidth_bps=10000000,
                                                    queue_limit=30000)
    page = StatusPage(server, 80)
    serve(sim, server, page)
    serve(sim, server, Chargen(server, 19))
    c = Client(sim, client, 19, shut=False)
    sim.run(max_ms=1000)
    assert len(c.got) > 10000
    head, body = fetch(sim, client, b"GET /?format=samples HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert head[0] == b"HTTP/1.1 200 OK" and b"Content-Type: application/json" in head
    doc = json.loads(body)
    assert doc["every_ms"] == 100 and doc["fields"] == ["t_ms", "cwnd", "ssthresh", "srtt_ms",
                                                        "rto_ms"]
    (chargen,) = [x for x in doc["connections"] if x["name"].startswith(SERVER + ":19 -> ")]
    pts = chargen["samples"]
    assert len(pts) == 4                                   # the ring kept the last 4
    assert [b[0] - a[0] for a, b in zip(pts, pts[1:])] == [100, 100, 100]
    assert all(p[1] >= 1460 and p[4] >= 1000 for p in pts)   # cwnd, and RTO's 1 s floor
    assert all(p[2] is None or p[2] >= 2 * 1460 for p in pts)
    head, body = fetch(sim, client, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b'<div id="charts"' in body and b"/?format=samples" in body
    c.conn.close()
    sim.run(max_ms=3000)
    # A ring goes with its connection.
    assert not [r for r in page.samples.rings.values() if r[0].startswith(SERVER + ":19 ")]


def test_status_page_without_sampling_has_no_chart():
    sim, client, server = pair()                           # the board profile: off
    page = StatusPage(server, 80)
    serve(sim, server, page)
    assert page.samples is None
    _, body = fetch(sim, client, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"<script" not in body and b"charts" not in body
    _, body = fetch(sim, client, b"GET /?format=samples HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert json.loads(body) == {"every_ms": 0, "connections": []}


def test_status_page_charts_at_most_status_chart_conns_connections():
    sim, client, server = pair(status_samples=4, status_sample_ms=100, status_chart_conns=2)
    for stack in (client, server):
        stack.interfaces[0].nic.faults = FaultModel(delay_ms=5, bandwidth_bps=10000000,
                                                    queue_limit=30000)
    page = serve(sim, server, StatusPage(server, 80))
    serve(sim, server, Chargen(server, 19))
    first = Client(sim, client, 19, shut=False)
    sim.run(max_ms=300)
    others = [Client(sim, client, 19, shut=False) for _ in range(2)]
    sim.run(max_ms=500)
    charted = [r[0] for r in page.samples.rings.values()]
    assert len(charted) == 2 and "192.0.2.1:%d" % first.conn.lport in charted[0]
    first.conn.abort()
    sim.run(max_ms=500)
    # The freed place goes to a newcomer; the one charted before keeps its ring.
    assert len(page.samples.rings) == 2 and charted[1] in [r[0] for r in page.samples.rings.values()]
    assert all(r[0] != charted[0] for r in page.samples.rings.values())
    for c in others:
        c.conn.close()
