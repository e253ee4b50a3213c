"""HTTP status page (HTTP/1.1 subset, RFC 9112): stack counters and TCP connections as HTML at
`/`, or as JSON at `/?format=json`. MicroPython-compatible.

Where the profile samples (config status_samples; a host does, a board does not), the page
keeps each connection's recent cwnd and RTT (apps/samples.py, sampled by its poll), serves them
at `/?format=samples`, and its HTML draws them live (apps/chart.py).

Persistent connections (RFC 9112 9.3): an HTTP/1.1 connection stays open for the next request
unless the client sends `Connection: close`; an HTTP/1.0 one closes unless it sends
`Connection: keep-alive`. Pipelined requests are answered in order, one response at a time:
the rest wait in TCP's receive buffer, which pushes back on the client.

Who closes, so that the client keeps the TIME_WAIT where the protocol lets it (RFC 9293 3.6:
the side that sends the first FIN holds it): after a response to `Connection: close`, which the
client has whole by its Content-Length, the page waits http_linger_ms for the client's FIN and
only then closes; a keep-alive client closes when it is done. An HTTP/1.0 client without
keep-alive and a request refused as malformed read until the close, so the page closes first
and then reads until the client's FIN (RFC 9112 9.6, bounded by the same linger).

Bounds (config.py, "apps"): the request head must be complete http_head_ms after the connection
or the previous response (a slowloris client that trickles bytes is closed), a response must be
sent within http_send_ms, and a connection idle for http_idle_ms is closed (TCPServer). Requests
are bounded in size; anything else gets a proper 4xx. Counters: requests, timed_out."""

import json

from .. import ticks
from ..addr import ip_ntoa
from .server import TCPServer, drain, give_up

_MAX_REQUEST = 4096
_READ = 0       # waiting for a request head
_SEND = 1       # sending a response
_WAIT_FIN = 2   # response sent: the client closes first
_DRAIN = 3      # our FIN sent: reading until the client's (RFC 9112 9.6)
_CLOSE = b"Connection: close\r\n"
_KEEP_ALIVE = b"Connection: keep-alive\r\n"


def connections(stack):
    """Every TCP connection's info() with its addresses as "a.b.c.d:port" (also what
    `barenet ctl conns` shows)."""
    out = []
    for c in stack.tcp.connections():
        i = c.info()
        i["local"] = "%s:%d" % (ip_ntoa(i["local"][0]), i["local"][1])
        i["remote"] = "%s:%d" % (ip_ntoa(i["remote"][0]), i["remote"][1])
        out.append(i)
    return out


def _esc(v):
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Exchange:
    """One connection's place in its requests: the phase, the bytes read and not yet parsed,
    the response left to send, the phase after it, the current phase's deadline, and whether
    the last response has been acknowledged whole (the linger starts then)."""

    def __init__(self, deadline):
        self.phase = _READ
        self.buf = bytearray()
        self.out = None
        self.then = _READ
        self.deadline = deadline
        self.delivered = False


class StatusPage(TCPServer):
    name = "http"

    def __init__(self, stack, port=80, idle_ms=None, **kw):
        c = stack.cfg
        if idle_ms is None:
            idle_ms = c.http_idle_ms
        TCPServer.__init__(self, stack, port, idle_ms=idle_ms, **kw)
        self.stack = stack
        self.head_ms = c.http_head_ms
        self.send_ms = c.http_send_ms
        self.linger_ms = c.http_linger_ms
        self.samples = None
        if c.status_samples:
            from .samples import Samples   # a board's page (no samples) leaves it unloaded
            self.samples = Samples(stack, c.status_samples, c.status_sample_ms,
                                   c.status_chart_conns)

    def poll(self, now_ms):
        wait = TCPServer.poll(self, now_ms)
        if self.samples is not None:
            wait = ticks.earliest(wait, self.samples.poll(now_ms))
        return wait

    def start(self, conn, now_ms):
        # Each response is written whole: Nagle (RFC 1122 4.2.3.4) would only hold back its
        # last segment until the client's delayed ACK, on every keep-alive request (as nginx's
        # tcp_nodelay for keep-alive connections).
        conn.nodelay = True
        return _Exchange(ticks.add(now_ms, self.head_ms))

    def serve(self, conn, st, now_ms):
        if st.phase >= _WAIT_FIN and not st.delivered and not conn.sndbuf.length:
            # The client has the whole response: only now may it be expected to close.
            st.delivered = True
            st.deadline = ticks.add(now_ms, self.linger_ms)
        if ticks.due(st.deadline, now_ms):
            if st.phase != _WAIT_FIN:
                # A client that stalls gets the connection closed; reset if data is unread
                # or waits behind a shut window.
                self.count("timed_out")
                give_up(conn)
                return None
            # The client kept the connection after all: close first.
            conn.shutdown_write()
            st.phase = _DRAIN
            st.deadline = ticks.add(now_ms, self.linger_ms)
        while st.phase == _READ or st.phase == _SEND:
            if st.phase == _READ:
                end = st.buf.find(b"\r\n\r\n")
                if end >= 0:
                    out, st.then = self.respond(bytes(st.buf[:end]))
                    st.buf = st.buf[end + 4:]    # a pipelined request's bytes stay for later
                elif len(st.buf) > _MAX_REQUEST:
                    out = self._reply(431, "text/plain", b"request too large\n", _CLOSE)
                    st.then = _DRAIN
                else:
                    d = conn.recv(_MAX_REQUEST)
                    if d is None:
                        return st
                    if not d:
                        return None  # the client closed, between requests or before a whole one
                    st.buf += d
                    continue
                st.out = memoryview(out)
                st.phase = _SEND
                st.deadline = ticks.add(now_ms, self.send_ms)
            out = st.out
            while len(out):
                n = conn.send(out)
                if n == 0:
                    st.out = out
                    return st
                out = out[n:]
            st.out = None
            st.phase = st.then
            if st.then == _READ:
                st.deadline = ticks.add(now_ms, self.head_ms)
            else:
                # The response is queued, not yet delivered: the send bound holds until it is
                # acknowledged, then the linger (above).
                if st.then == _DRAIN:
                    conn.shutdown_write()
        # Unread request bytes would turn our close into a reset that destroys the response in
        # flight: read (and drop) until the client's FIN.
        return st if drain(conn) else None

    def wake(self, st, now_ms):
        return ticks.until(st.deadline, now_ms)  # the deadline holds even for a silent client

    def respond(self, head):
        """-> (response, the phase after sending it): _READ keeps the connection open."""
        self.count("requests")
        lines = head.split(b"\r\n")
        line = lines[0].split(b" ")
        if len(line) != 3 or not line[2].startswith(b"HTTP/1."):
            return self._reply(400, "text/plain", b"bad request\n", _CLOSE), _DRAIN
        method, target = line[0], line[1]
        if method != b"GET" and method != b"HEAD":
            # A body may follow that we cannot frame: the connection ends (RFC 9112 9.6)
            return self._reply(405, "text/plain", b"only GET and HEAD\n",
                               _CLOSE + b"Allow: GET, HEAD\r\n"), _DRAIN
        tokens = []
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            if name.strip().lower() == b"connection":   # RFC 9110 7.6.1: a list of options
                tokens += [t.strip().lower() for t in value.split(b",")]
        if b"close" in tokens:
            conn, then = _CLOSE, _WAIT_FIN
        elif line[2] != b"HTTP/1.0":
            conn, then = b"", _READ
        elif b"keep-alive" in tokens:
            conn, then = _KEEP_ALIVE, _READ   # RFC 9112 C.2.2
        else:
            conn, then = _CLOSE, _DRAIN       # an HTTP/1.0 client reads until the close
        path, _, query = target.partition(b"?")
        if path != b"/":
            return self._reply(404, "text/plain", b"not found\n", conn), then
        query = query.split(b"&")
        if b"format=json" in query:
            body = json.dumps(self.snapshot()).encode()
            ctype = "application/json"
        elif b"format=samples" in query:
            body = json.dumps(self.samples.snapshot() if self.samples is not None else
                              {"every_ms": 0, "connections": []}).encode()
            ctype = "application/json"
        else:
            body = self.html().encode()
            ctype = "text/html; charset=utf-8"
        r = self._reply(200, ctype, body, conn)
        if method == b"HEAD":
            r = r[:r.find(b"\r\n\r\n") + 4]
        return r, then

    def _reply(self, code, ctype, body, extra=b""):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  431: "Request Header Fields Too Large"}[code]
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
            code, reason, ctype, len(body))
        return head.encode() + extra + b"\r\n" + body

    def snapshot(self):
        s = self.stack
        # the NIC's own counters (a driver's drop_rx_bad, chip_timeout...: barenet/nic.py)
        return {"interfaces": [{"name": i.name, "ip": "%s/%d" % (ip_ntoa(i.ip), i.prefix),
                                "mtu": i.mtu, "nic": dict(getattr(i.nic, "stats", None) or {})}
                               for i in s.interfaces],
                "stats": s.stats, "limits": s.limits(), "connections": connections(s)}

    def html(self):
        s = self.snapshot()
        out = ["<!DOCTYPE html><html><head><title>barenet status</title></head><body>",
               "<h1>barenet status</h1>"]
        if self.samples is not None:
            from .chart import HTML   # only a page that samples holds the chart's script
            out.append(HTML)
        out.append("<h2>Interfaces</h2><ul>")
        for i in s["interfaces"]:
            out.append("<li>%s %s mtu %d</li>" % (_esc(i["name"]), _esc(i["ip"]), i["mtu"]))
        out.append("</ul><h2>Counters</h2><table border=1><tr><th>layer</th><th>counter</th><th>value</th></tr>")
        for layer in sorted(s["stats"]):
            for k in sorted(s["stats"][layer]):
                out.append("<tr><td>%s</td><td>%s</td><td>%d</td></tr>" % (
                    _esc(layer), _esc(k), s["stats"][layer][k]))
        out.append("</table><h2>Limits</h2><table border=1><tr><th>table</th><th>used</th>"
                   "<th>limit</th></tr>")
        for name in sorted(s["limits"]):
            v = s["limits"][name]
            out.append("<tr><td>%s</td><td>%d</td><td>%d</td></tr>" % (
                _esc(name), v["used"], v["limit"]))
        out.append("</table><h2>TCP connections</h2><table border=1><tr>")
        cols = ("local", "remote", "state", "cwnd", "ssthresh", "srtt_ms", "rttvar_ms", "rto_ms",
                "timestamps", "ts_rtt_samples", "snd_wnd", "rcv_wnd", "retransmits",
                # issue 14: where the RTT comes from, D-SACK undo (RFC 3708), ECN (RFC 3168)
                "rtt_source", "dsack_received", "undo_count", "ecn", "ecn_reductions")
        out.append("".join("<th>%s</th>" % c for c in cols) + "</tr>")
        for c in s["connections"]:
            out.append("<tr>" + "".join("<td>%s</td>" % _esc(c.get(k, "")) for k in cols) + "</tr>")
        out.append("</table></body></html>\n")
        return "".join(out)
