"""HTTP status page (HTTP/1.1 subset, RFC 9112): stack counters and TCP connections as HTML at
`/`, or as JSON at `/?format=json`. One request per connection (Connection: close); requests
are bounded in size; anything else gets a proper 4xx. MicroPython-compatible."""

import json

from .. import ticks
from ..addr import ip_ntoa
from .server import TCPServer, drain

_MAX_REQUEST = 4096
_TIMEOUT_MS = 10000  # a whole exchange, request to close, must fit in this
_READ = 0
_SEND = 1
_LINGER = 2


def _esc(v):
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class StatusPage(TCPServer):
    def __init__(self, stack, port=80, **kw):
        TCPServer.__init__(self, stack, port, **kw)
        self.stack = stack
        self.requests = 0

    def start(self, conn, now_ms):
        return [_READ, bytearray(), ticks.add(now_ms, _TIMEOUT_MS)]

    def serve(self, conn, st, now_ms):
        if ticks.due(st[2], now_ms):
            return None  # a client that stalls gets the connection closed (reset if unread)
        if st[0] == _READ:
            while True:
                d = conn.recv(_MAX_REQUEST)
                if d is None:
                    return st
                if not d:
                    return None  # closed before a whole request
                st[1] += d
                end = st[1].find(b"\r\n\r\n")
                if end >= 0:
                    st[1] = memoryview(self.respond(bytes(st[1][:end])))
                    break
                if len(st[1]) > _MAX_REQUEST:
                    st[1] = memoryview(self._reply(431, "text/plain", b"request too large\n"))
                    break
            st[0] = _SEND
        if st[0] == _SEND:
            out = st[1]
            while len(out):
                n = conn.send(out)
                if n == 0:
                    st[1] = out
                    return st
                out = out[n:]
            conn.shutdown_write()
            st[0] = _LINGER
        # RFC 9112 9.6: half-close, then read until the client closes, so unread request
        # bytes do not turn our close into a reset that destroys the response in flight.
        return st if drain(conn) else None

    def wake(self, st, now_ms):
        return ticks.until(st[2], now_ms)  # the deadline holds even for a silent client

    def respond(self, head):
        self.requests += 1
        line = head.split(b"\r\n", 1)[0].split(b" ")
        if len(line) != 3 or not line[2].startswith(b"HTTP/1."):
            return self._reply(400, "text/plain", b"bad request\n")
        method, target = line[0], line[1]
        if method != b"GET" and method != b"HEAD":
            return self._reply(405, "text/plain", b"only GET and HEAD\n", b"Allow: GET, HEAD\r\n")
        path, _, query = target.partition(b"?")
        if path != b"/":
            return self._reply(404, "text/plain", b"not found\n")
        if b"format=json" in query.split(b"&"):
            body = json.dumps(self.snapshot()).encode()
            ctype = "application/json"
        else:
            body = self.html().encode()
            ctype = "text/html; charset=utf-8"
        r = self._reply(200, ctype, body)
        if method == b"HEAD":
            r = r[:r.find(b"\r\n\r\n") + 4]
        return r

    def _reply(self, code, ctype, body, extra=b""):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  431: "Request Header Fields Too Large"}[code]
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n" % (
            code, reason, ctype, len(body))
        return head.encode() + extra + b"\r\n" + body

    def snapshot(self):
        conns = []
        for c in self.stack.tcp.connections():
            i = c.info()
            i["local"] = "%s:%d" % (ip_ntoa(i["local"][0]), i["local"][1])
            i["remote"] = "%s:%d" % (ip_ntoa(i["remote"][0]), i["remote"][1])
            conns.append(i)
        return {"interfaces": [{"name": i.name, "ip": "%s/%d" % (ip_ntoa(i.ip), i.prefix),
                                "mtu": i.mtu} for i in self.stack.interfaces],
                "stats": self.stack.stats, "limits": self.stack.limits(), "connections": conns}

    def html(self):
        s = self.snapshot()
        out = ["<!DOCTYPE html><html><head><title>barenet status</title></head><body>",
               "<h1>barenet status</h1><h2>Interfaces</h2><ul>"]
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
                "snd_wnd", "rcv_wnd", "retransmits")
        out.append("".join("<th>%s</th>" % c for c in cols) + "</tr>")
        for c in s["connections"]:
            out.append("<tr>" + "".join("<td>%s</td>" % _esc(c.get(k, "")) for k in cols) + "</tr>")
        out.append("</table></body></html>\n")
        return "".join(out)
