"""The examples' parsing of bad input, without a network: option mistakes are one line and
status 2, a malformed HTTP request is a 400 (413 for a body too large), never a traceback, and
a malformed response is the client's `Malformed`. A fake socket feeds the bytes."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples"))
import exargs  # noqa: E402
import http_client  # noqa: E402
import http_server  # noqa: E402
from bufread import Reader  # noqa: E402


class FakeSock:
    """recv() hands out the given pieces, then b"" (the end of the stream)."""

    def __init__(self, *pieces):
        self.pieces = list(pieces)
        self.sent = b""

    def recv(self, n):
        return self.pieces.pop(0) if self.pieces else b""

    def sendall(self, data):
        self.sent += data

    def settimeout(self, t):
        pass


def test_options_parse_by_the_defaults_type():
    o, rest = exargs.parse(["a", "--port", "81", "--wait", "0.5", "--inline", "b"],
                           {"port": 80, "wait": 1.0, "inline": False, "name": "x"})
    assert o == {"port": 81, "wait": 0.5, "inline": True, "name": "x"} and rest == ["a", "b"]


@pytest.mark.parametrize("argv, message", [
    (["--nope"], "error: unknown option --nope"),
    (["--port"], "error: --port needs a value"),
    (["--port", "eighty"], "error: --port: not a valid int: 'eighty'"),
])
def test_option_mistakes_are_one_line_and_status_2(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        exargs.parse(argv, {"port": 80})
    assert e.value.code == 2
    assert capsys.readouterr().err == message + "\n"


def request(*pieces):
    return http_server.read_request(Reader(FakeSock(*pieces)))


def test_a_request_in_pieces_with_empty_lines_before_it():
    assert request(b"\r\n\r\nPOST /echo HT", b"TP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab",
                   b"c") == ("POST", "/echo", "HTTP/1.1", {"host": "a", "content-length": "3"},
                             b"abc")
    assert request(b"") is None


@pytest.mark.parametrize("raw, status", [
    (b"GET /\r\n\r\n", 400),                                    # no version
    (b"GET / HTTP/2\r\n\r\n", 400),                             # not 1.x
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),               # RFC 9112 5.1
    (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413),
    (b"GET / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort", 400),  # the body cut short
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\n", 400),                    # the stream ends in headers
])
def test_malformed_requests(raw, status):
    with pytest.raises(http_server.BadRequest) as e:
        request(raw)
    assert e.value.args == (status,)


def test_handle_answers_400_and_closes_for_a_line_too_long():
    conn = FakeSock(b"GET /" + b"a" * 9000)
    log = []
    assert http_server.handle(conn, 1.0, log.append) == 1
    assert conn.sent.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close\r\n" in conn.sent and log == ["bad request: 400"]


def test_url_checks():
    assert http_client.split_url("http://192.0.2.1") == ("192.0.2.1", 80, "/")
    assert http_client.split_url("http://192.0.2.1:8080/a?b") == ("192.0.2.1", 8080, "/a?b")
    for bad in ("https://x/", "http://:80/", "http://x:port/"):
        with pytest.raises(ValueError):
            http_client.split_url(bad)


def test_a_bad_url_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        http_client.main(["ftp://192.0.2.1/"])
    assert e.value.code == 2
    assert capsys.readouterr().err == "error: only http:// URLs: 'ftp://192.0.2.1/'\n"


@pytest.mark.parametrize("body", [b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhel", b"5\r\nhelloX\r\n"])
def test_malformed_chunks(body):
    with pytest.raises(http_client.Malformed):
        http_client.read_chunked(Reader(FakeSock(body)))
