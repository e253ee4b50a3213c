"""Acceptance (issue 8, "TIME_WAIT"): `ab -n 5000 -c 50` (Debian apache2-utils) against
`barenet serve`'s status page completes every request with a 2xx, and right after it echo (7),
discard (9) and the status page (80) each accept a new connection at once (within 1 s).

ab without -k speaks HTTP/1.0 and reads each response until the close, so barenet closes first
and holds those TIME_WAITs (RFC 9293 3.6); what keeps them from locking out new connections is
TCP's TIME_WAIT table. The status page's own part: a client that may close first does
(tests/unit/test_apps.py), and nothing of the page's limits refuses ab's 50 clients.
"""

import json
import re
import shutil
import time

import pytest

pytestmark = pytest.mark.root

REQUESTS = 5000
CONCURRENCY = 50

# argv: host. Connects to each service once and reports how long each took, and that it
# works: echo echoes, discard swallows, the status page answers.
KERNEL_EACH_SERVICE = r"""
import json, socket, sys, time
host = sys.argv[1]
out = {}
for port, send, want in ((7, b"ping\n", b"ping\n"), (9, b"x" * 1000, b""),
                         (80, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", b"HTTP/1.1 200 OK")):
    t = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        out[port] = {"error": repr(e)}
        continue
    took = time.monotonic() - t
    s.settimeout(5)
    s.sendall(send)
    if port == 9:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while len(got) < len(want) or port == 9:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError as e:
        got = repr(e).encode()
    s.close()
    out[port] = {"connect_s": took, "ok": got[:len(want)] == want}
print(json.dumps(out))
"""


def ab_field(text, name):
    m = re.search(r"^%s:\s+(\d+)" % re.escape(name), text, re.M)
    return None if m is None else int(m.group(1))


def test_ab_5000_requests_all_succeed_then_every_service_accepts_at_once(serve, kernel):
    if shutil.which("ab") is None:
        pytest.fail("ab is missing: install apache2-utils (make sysdeps)")
    s = serve("--apps", "echo,discard,http")
    # -l: the page is dynamic, its length differs between responses (not a failure)
    r = kernel.ns.run(["ab", "-l", "-n", str(REQUESTS), "-c", str(CONCURRENCY), "-s", "20",
                       "http://%s/" % kernel.barenet_ip], timeout=240)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert ab_field(r.stdout, "Complete requests") == REQUESTS, r.stdout
    assert ab_field(r.stdout, "Failed requests") == 0, r.stdout
    assert (ab_field(r.stdout, "Non-2xx responses") or 0) == 0, r.stdout   # printed if any
    rate = re.search(r"^Requests per second:\s+([\d.]+)", r.stdout, re.M).group(1)
    print("ab -n %d -c %d: %s requests/s" % (REQUESTS, CONCURRENCY, rate))
    after = kernel.py(KERNEL_EACH_SERVICE, kernel.barenet_ip, timeout=60)
    assert after.returncode == 0, after.stderr
    each = json.loads(after.stdout)
    for port in ("7", "9", "80"):
        assert each[port].get("ok") and each[port]["connect_s"] < 1.0, each
    status, summary, err = s.stop()
    assert status == 0 and err == "", (status, err)
    assert "refused_per_peer" not in summary and "evicted_idle" not in summary, summary


def test_curl_leaves_the_time_wait_with_itself_unless_it_speaks_http_1_0(serve, kernel):
    # RFC 9293 3.6: whoever sends the first FIN holds the TIME_WAIT. curl closes first after a
    # keep-alive response and after `Connection: close` (it has the body by Content-Length);
    # an HTTP/1.0 client reads until the close, so there barenet closes first.
    serve("--apps", "http")
    url = "http://%s/" % kernel.barenet_ip
    ports = {}
    for name, args in (("keep-alive", []), ("close", ["-H", "Connection: close"]),
                       ("http/1.0", ["-0"])):
        r = kernel.ns.run(["curl", "-s", "-o", "/dev/null", "-m", "10", "-w",
                           "%{http_code} %{local_port}"] + args + [url], timeout=20)
        code, port = r.stdout.split()
        assert code == "200", (name, r.stdout, r.stderr)
        ports[name] = port
    deadline = time.monotonic() + 5     # barenet's FIN after the HTTP/1.0 response: at once
    while True:
        ss = kernel.ns.run(["ss", "-tan", "state", "time-wait"], timeout=10).stdout
        held = dict((name, ":%s " % port in ss) for name, port in ports.items())
        if held == {"keep-alive": True, "close": True, "http/1.0": False} or \
                time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert held == {"keep-alive": True, "close": True, "http/1.0": False}, (held, ss)
