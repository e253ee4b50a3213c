"""A small HTTP/1.1 server on blocking sockets, one connection at a time.

    python3 http_server.py [--host ADDR] [--port 8080] [--count N] [--idle SECONDS]

Routes: GET / (a page), GET /hello?name=NAME (a greeting), POST /echo (the body back). HEAD
works wherever GET does. Every response has Content-Length, so a connection stays open for the
next request (HTTP/1.1 keep-alive, RFC 9112 9.3) until the client sends `Connection: close`,
speaks HTTP/1.0 without keep-alive, sends nothing for --idle seconds, or sends a request that
cannot be parsed (400, then close: the framing is lost). Unknown paths get 404, a known path
with the wrong method 405. --count N: serve N connections, then exit (0: for ever).

Plain `import socket`: the same on CPython's kernel sockets and on barenet after
barenet.socket.install() (or `barenet run http_server.py`), on CPython and MicroPython.
"""

import socket

from bufread import Reader
from exargs import parse

MAX_BODY = 65536
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           413: "Content Too Large"}


class BadRequest(Exception):
    pass


def read_request(rd):
    """-> (method, target, version, headers {lower-case name: value}, body), or None when the
    client closed between requests. Raises BadRequest (with the status) for what cannot be
    parsed; ValueError (a line too long) counts as that too."""
    line = rd.line()
    while line in (b"\r\n", b"\n"):
        line = rd.line()     # RFC 9112 2.2: ignore empty lines before a request line
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400)
    method, target, version = parts
    headers = {}
    while True:
        h = rd.line()
        if not h:
            raise BadRequest(400)   # the stream ended inside the header block
        if h in (b"\r\n", b"\n"):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400)   # RFC 9112 5.1: no whitespace before the colon
        headers[name.lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise BadRequest(400)       # a request body in chunks: not supported here
    n = headers.get("content-length", "0")
    if not n.isdigit():
        raise BadRequest(400)
    n = int(n)
    if n > MAX_BODY:
        raise BadRequest(413)
    body = rd.exact(n)
    if len(body) < n:
        raise BadRequest(400)
    return method, target, version, headers, body


def route(method, target, body):
    """-> (status, content type, body bytes)."""
    path, _, query = target.partition("?")
    if path == "/":
        ok, out = ("GET", "HEAD"), b"<html><body><h1>barenet example</h1></body></html>\n"
        kind = "text/html"
    elif path == "/hello":
        name = "world"
        for kv in query.split("&"):
            k, _, v = kv.partition("=")
            if k == "name" and v:
                name = v
        ok, out, kind = ("GET", "HEAD"), ("hello, %s\n" % name).encode(), "text/plain"
    elif path == "/echo":
        ok, out, kind = ("POST",), body, "application/octet-stream"
    else:
        return 404, "text/plain", b"not found\n"
    if method not in ok:
        return 405, "text/plain", b"method not allowed\n"
    return 200, kind, out


def respond(conn, status, kind, body, close, head=False):
    h = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status, REASONS[status], kind, len(body))
    if close:
        h += "Connection: close\r\n"
    conn.sendall(h.encode() + b"\r\n" + (b"" if head else body))


def wants_close(version, headers):
    tokens = [t.strip().lower() for t in headers.get("connection", "").split(",")]
    if version == "HTTP/1.0":
        return "keep-alive" not in tokens    # RFC 9112 9.3: 1.0 closes unless asked not to
    return "close" in tokens


def handle(conn, idle=5.0, log=print):
    """Serve the requests of one connection until it ends; -> how many were answered. The
    caller closes conn."""
    conn.settimeout(idle)
    rd = Reader(conn)
    served = 0
    while True:
        try:
            req = read_request(rd)
        except (BadRequest, ValueError) as e:
            status = e.args[0] if isinstance(e, BadRequest) else 400
            log("bad request: %d" % status)
            respond(conn, status, "text/plain", b"bad request\n", True)
            return served + 1
        except OSError as e:
            # a timeout (TimeoutError on CPython, ETIMEDOUT on MicroPython) or a reset
            log("connection ended: %s" % (e,))
            return served
        if req is None:
            return served
        method, target, version, headers, body = req
        status, kind, out = route(method, target, body)
        close = wants_close(version, headers)
        log("%s %s %d" % (method, target, status))
        respond(conn, status, kind, out, close, method == "HEAD")
        served += 1
        if close:
            return served


def listen(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4)
    return s


def serve(s, count=0, idle=5.0, log=print):
    """Accept and serve connections one by one: count of them (0: for ever)."""
    n = 0
    while count == 0 or n < count:
        conn, peer = s.accept()
        log("connection from %s:%d" % peer)
        try:
            handle(conn, idle, log)
        finally:
            conn.close()
        n += 1


def main(argv):
    o, rest = parse(argv, {"host": "", "port": 8080, "count": 0, "idle": 5.0})
    s = listen(o["host"], o["port"])
    host, port = s.getsockname()
    print("listening on %s:%d" % (host, port))
    try:
        serve(s, o["count"], o["idle"])
    finally:
        s.close()
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
