"""An HTTP/1.1 client on a blocking socket: GET a URL, print the status line, the headers and
the body.

    python3 http_client.py http://HOST[:PORT]/PATH [--timeout SECONDS] [--head]

One request with `Connection: close`. The body is framed as RFC 9112 6.3 says: chunked
transfer coding (decoded; trailers are skipped), else Content-Length, else up to the end of the
stream. No redirects, no TLS, numeric hosts on barenet until its DNS client lands. Exit status 0
for a 1xx-3xx answer, 1 for 4xx/5xx, 2 for a bad URL, 3 when the answer is not HTTP, 4
when the connection fails (refused, reset, timed out).
"""

import socket

from bufread import Reader
from exargs import parse, usage_error


class Malformed(Exception):
    pass


def split_url(url):
    """http://host[:port]/path -> (host, port, path)."""
    if not url.startswith("http://"):
        raise ValueError("only http:// URLs: %r" % url)
    hostport, slash, path = url[7:].partition("/")
    host, colon, port = hostport.partition(":")
    if not host or (colon and not port.isdigit()):
        raise ValueError("bad host or port in %r" % url)
    return host, int(port) if colon else 80, slash + path if slash else "/"


def read_chunked(rd):
    """RFC 9112 7.1: chunk-size [; ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF."""
    body = b""
    while True:
        line = rd.line()
        size = line.split(b";")[0].strip()
        try:
            n = int(size, 16)
        except ValueError:
            raise Malformed("bad chunk size %r" % line)
        if n == 0:
            break
        data = rd.exact(n)
        if len(data) < n or rd.line() not in (b"\r\n", b"\n"):
            raise Malformed("chunk cut short")
        body += data
    while rd.line() not in (b"\r\n", b"\n", b""):
        pass     # trailer fields: not used
    return body


def get(url, timeout=10.0, head=False):
    """-> (status, reason, [(name, value)], body)."""
    host, port, path = split_url(url)
    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(addr)
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: barenet-example\r\n"
                   "Connection: close\r\n\r\n" % ("HEAD" if head else "GET", path,
                                                  hostport(host, port))).encode())
        rd = Reader(s)
        status = rd.line().decode("latin-1").split(None, 2)
        if len(status) < 2 or not status[0].startswith("HTTP/") or not status[1].isdigit():
            raise Malformed("not an HTTP response: %r" % (" ".join(status),))
        code = int(status[1])
        reason = status[2].strip() if len(status) > 2 else ""
        headers = []
        while True:
            h = rd.line()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        fields = dict((k.lower(), v) for k, v in headers)
        if head or code in (204, 304) or code < 200:
            body = b""     # RFC 9112 6.3 (1): these never have a body
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            body = read_chunked(rd)
        elif "content-length" in fields:
            n = int(fields["content-length"])
            body = rd.exact(n)
            if len(body) < n:
                raise Malformed("body cut short: %d of %d bytes" % (len(body), n))
        else:
            body = rd.rest()
        return code, reason, headers, body
    finally:
        s.close()


def hostport(host, port):
    return host if port == 80 else "%s:%d" % (host, port)


def main(argv):
    o, rest = parse(argv, {"timeout": 10.0, "head": False})
    if len(rest) != 1:
        usage_error("usage: http_client.py URL [--timeout SECONDS] [--head]")
    try:
        split_url(rest[0])
    except ValueError as e:
        usage_error(str(e))
    try:
        code, reason, headers, body = get(rest[0], o["timeout"], o["head"])
    except (Malformed, ValueError) as e:
        print("error: %s" % e)
        return 3
    except OSError as e:     # refused, reset, timed out, unreachable
        print("error: %s" % (e,))
        return 4
    print("%d %s" % (code, reason))
    for name, value in headers:
        print("%s: %s" % (name, value))
    print("")
    try:
        text = body.decode()
    except UnicodeError:
        text = repr(body) + "\n"
    print(text, end="")
    return 0 if code < 400 else 1


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
