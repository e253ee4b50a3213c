"""barenet's TCP against the Linux kernel's, over a TAP in a fresh namespace.

The kernel side is 192.0.2.1; barenet is 192.0.2.2, either as `barenet serve --apps ...` (the
kernel connects to echo 7, discard 9, chargen 19, http 80) or in-process on the TAP fd, driven by
the Runner while a kernel client or server runs in the namespace as `nc`, `curl` or a Python
script. Transfers are checked by sha256 of what each side sent and received. Every kernel
socket has a timeout, every subprocess is waited for with one, every loop is bounded in bytes
and in time. Expectations are RFC 9293 (RFC 793 half-close, RST for closed ports, urgent data as
in RFC 6093), RFC 862/863/864 for the services, RFC 7323 and 2018 for the options.
"""

import hashlib
import json
import random
import select
import subprocess
import sys

import pytest

from barenet_host.faults import FaultModel, FaultyNIC

pytestmark = pytest.mark.root

MB = 1000 * 1000
BIG = 20 * MB
CHUNK = 65536
KERNEL_PORT = 5001
BARENET_PORT = 5000


def pattern(size, seed):
    """size seeded pseudo-random bytes: not periodic, so misplaced segments cannot match."""
    return random.Random(seed).randbytes(size)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def finish(proc, timeout):
    """Wait for a kernel-side script; -> its JSON result (fails with its stderr otherwise)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail("kernel side timed out: %r %r" % (out, err))
    assert proc.returncode == 0, (out, err)
    return json.loads(out.strip().splitlines()[-1])


def readline(stream, timeout_s):
    ready, _, _ = select.select([stream], [], [], timeout_s)
    return stream.readline() if ready else ""


def wait_ready(proc):
    line = readline(proc.stdout, 10)
    if line.strip() != "ready":
        proc.kill()
        pytest.fail("kernel server did not start: %r %r" % (line, proc.communicate(timeout=10)))


# -- kernel-side scripts (run with `ip netns exec`, every socket with a timeout) ----------------

# Connect, send size seeded bytes while a thread receives, half-close, read to EOF.
KERNEL_STREAM_CLIENT = r"""
import hashlib, json, random, socket, sys, threading
host, port, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = random.Random(seed).randbytes(size)
s = socket.create_connection((host, port), timeout=30)
s.settimeout(30)
got = hashlib.sha256()
n = [0, None]
def rx():
    try:
        while n[0] <= 2 * size + 65536:
            d = s.recv(65536)
            if not d:
                return
            got.update(d)
            n[0] += len(d)
    except OSError as e:
        n[1] = repr(e)
t = threading.Thread(target=rx, daemon=True)
t.start()
mv = memoryview(data)
for off in range(0, size, 65536):
    s.sendall(mv[off:off + 65536])
s.shutdown(socket.SHUT_WR)
t.join(60)
print(json.dumps({"sent": hashlib.sha256(data).hexdigest(), "got": got.hexdigest(),
                  "got_len": n[0], "error": n[1], "alive": t.is_alive()}))
"""

# Listen, accept one, then the same as the client: send size bytes, receive to EOF.
KERNEL_STREAM_SERVER = r"""
import hashlib, json, random, socket, sys, threading
port, size, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = random.Random(seed).randbytes(size)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("192.0.2.1", port))
ls.listen(1)
ls.settimeout(30)
print("ready", flush=True)
s, peer = ls.accept()
s.settimeout(30)
got = hashlib.sha256()
n = [0, None]
def rx():
    try:
        while n[0] <= 2 * size + 65536:
            d = s.recv(65536)
            if not d:
                return
            got.update(d)
            n[0] += len(d)
    except OSError as e:
        n[1] = repr(e)
t = threading.Thread(target=rx, daemon=True)
t.start()
mv = memoryview(data)
for off in range(0, size, 65536):
    s.sendall(mv[off:off + 65536])
s.shutdown(socket.SHUT_WR)
t.join(120)
print(json.dumps({"sent": hashlib.sha256(data).hexdigest(), "got": got.hexdigest(),
                  "got_len": n[0], "error": n[1], "alive": t.is_alive(), "peer": peer}))
"""


# -- in-process barenet: a runner task that moves one connection's data -------------------------

class Stream:
    """Runner task for one barenet connection: sends `data` (then shutdown_write() when
    `shutdown`), reads until EOF into a sha256. Bounded: reading more than `max_rx` fails."""

    def __init__(self, conn, data=b"", shutdown=True, max_rx=2 * BIG):
        self.conn = conn
        self.mv = memoryview(data)
        self.off = 0
        self.shutdown = shutdown
        self.max_rx = max_rx
        self.got = hashlib.sha256()
        self.got_len = 0
        self.eof = False
        self.error = None

    def sent_all(self):
        return self.off == len(self.mv)

    def done(self):
        return self.error is not None or (self.eof and self.sent_all())

    def __call__(self, now):
        c = self.conn
        try:
            while self.off < len(self.mv):
                n = c.send(self.mv[self.off:self.off + CHUNK])
                if not n:
                    break
                self.off += n
            if self.shutdown and self.sent_all():
                c.shutdown_write()       # idempotent once the FIN is queued
            while not self.eof:
                d = c.recv(CHUNK)
                if d is None:
                    break
                if not d:
                    self.eof = True
                    break
                self.got.update(d)
                self.got_len += len(d)
                assert self.got_len <= self.max_rx, "more data than was ever sent"
        except OSError as e:
            self.error = e.errno
        return None


def drive(b, proc, until, timeout_s):
    """Run barenet until `until()` holds and the kernel-side process has exited."""
    ok = b.run(until=lambda: until() and proc.poll() is not None, timeout_s=timeout_s)
    if not ok:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail("no completion in %ds; kernel side %r %r; barenet tcp %r conns %r" % (
            timeout_s, out, err, b.stack.stats["tcp"],
            [c.info() for c in b.stack.tcp.connections()]))


def accept_one(b, listener, timeout_s=10):
    got = []

    def take(now):
        if not got:
            c = listener.accept()
            if c is not None:
                got.append(c)
        return None

    b.runner.add_task(take)
    assert b.run(until=lambda: bool(got), timeout_s=timeout_s), b.stack.stats["tcp"]
    return got[0]


# == 1. echo, discard and chargen served by `barenet serve`, kernel clients ======================

SERVE_APPS = ("--apps", "echo,discard,chargen,http")


def test_echo_20mb_kernel_client_sha256(serve, kernel):
    # RFC 862: everything sent comes back. The client sends and receives at once (echo reads
    # only what it can send, so a client that did not read would stall itself), then half-closes.
    serve(*SERVE_APPS)
    r = finish(kernel.popen_py(KERNEL_STREAM_CLIENT, kernel.barenet_ip, "7", str(BIG), "7"), 90)
    assert r["error"] is None and not r["alive"], r
    assert r["got_len"] == BIG
    assert r["got"] == r["sent"] == sha(pattern(BIG, 7))


def test_discard_takes_20mb_from_nc(serve, kernel, tmp_path):
    # RFC 863 via netcat: nc -N half-closes at the end of its input and exits once the
    # service closes in turn; barenet's own counter says every byte arrived.
    s = serve(*SERVE_APPS)
    src = tmp_path / "20mb"
    src.write_bytes(pattern(BIG, 9))
    r = kernel.ns.run(["sh", "-c", "timeout 60 nc -N -w 20 %s 9 < %s" % (kernel.barenet_ip, src)],
                      timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    status, out, err = s.stop()
    assert status == 0, err
    assert "rx_bytes=%d " % BIG in out, out


def rfc864_line(n):
    # RFC 864: the 95 printing characters (space to tilde) as a ring; line N holds characters
    # N mod 95 through 71 + N mod 95, then CR LF.
    ring = [chr(32 + i) for i in range(95)]
    return "".join(ring[(n + i) % 95] for i in range(72)).encode() + b"\r\n"


def test_chargen_rfc864_pattern_to_nc(serve, kernel, tmp_path):
    serve(*SERVE_APPS)
    out = tmp_path / "chargen"
    size = 4 * MB
    # nc -d: nothing from stdin; head stops after size bytes and nc dies of SIGPIPE (the
    # rude abort RFC 864 says the service must expect).
    kernel.ns.run(["sh", "-c", "timeout 60 nc -d -w 10 %s 19 | head -c %d > %s"
                   % (kernel.barenet_ip, size, out)], timeout=90)
    got = out.read_bytes()
    assert len(got) == size
    assert got.startswith(b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"
                          b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n")
    lines = got.split(b"\r\n")[:-1]  # the last line is cut by head
    assert len(lines) > size // 74 - 2
    assert all(ln + b"\r\n" == rfc864_line(i) for i, ln in enumerate(lines))


# == 2. curl and the status page =================================================================

HOLD_ECHO = r"""
import select, socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.settimeout(10)
s.sendall(b"held\n")
print(s.recv(100).decode(), end="", flush=True)
select.select([sys.stdin], [], [], 10)   # until the test closes our stdin
s.close()
"""

def test_curl_status_page_html_and_json(serve, kernel):
    serve(*SERVE_APPS)
    # Something to count first, and an open connection for the table: an echo client that
    # holds its connection until its stdin closes (bounded by its own timeout).
    holder = kernel.ns.popen([sys.executable, "-c", HOLD_ECHO, kernel.barenet_ip],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert readline(holder.stdout, 10) == "held\n"   # echoed: the connection is up
        r = kernel.ns.run(["curl", "-sS", "-i", "-m", "10", "http://%s/" % kernel.barenet_ip],
                          timeout=20)
        assert r.returncode == 0, r.stderr
        head, _, body = r.stdout.partition("\n\n")     # text mode: CR LF read as LF
        assert head.startswith("HTTP/1.1 200 OK"), head
        assert "Content-Type: text/html" in head
        assert "<html" in body and "</html>" in body
        # the counters table: the TCP layer has seen segments, the echo connection is listed
        assert "<td>tcp</td><td>rx</td>" in body
        assert "ESTABLISHED" in body
        r = kernel.ns.run(["curl", "-sS", "-m", "10", "http://%s/?format=json" % kernel.barenet_ip],
                          timeout=20)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
    finally:
        holder.communicate(timeout=15)   # closes its stdin: it lets go
    assert doc["stats"]["tcp"]["rx"] > 0 and doc["stats"]["tcp"]["established"] >= 2
    assert doc["stats"]["ip"]["rx"] > 0
    echo = [c for c in doc["connections"] if c["local"] == "192.0.2.2:7"]
    assert len(echo) == 1 and echo[0]["state"] == "ESTABLISHED", doc["connections"]
    for c in doc["connections"]:
        assert c["remote"].startswith("192.0.2.1:")
        assert c["cwnd"] >= c["mss"] > 0
        assert "srtt_ms" in c and "rto_ms" in c and c["rto_ms"] > 0
    # The echo connection has had a round trip measured (RFC 6298 2.2): its SRTT is known.
    assert echo[0]["srtt_ms"] is not None


# == 3. barenet connects out: 20 MB each way =====================================================

def test_barenet_connects_out_20mb_each_way(barenet, kernel):
    server = kernel.popen_py(KERNEL_STREAM_SERVER, str(KERNEL_PORT), str(BIG), "3")
    wait_ready(server)
    data = pattern(BIG, 4)
    conn = barenet.stack.tcp.connect(kernel.ip, KERNEL_PORT)
    task = Stream(conn, data)
    barenet.runner.add_task(task)
    drive(barenet, server, task.done, 120)
    r = finish(server, 10)
    assert task.error is None, conn.info()
    assert r["error"] is None and not r["alive"], r
    assert r["peer"][0] == "192.0.2.2" and r["peer"][1] == conn.lport
    assert task.got_len == BIG and r["got_len"] == BIG
    assert task.got.hexdigest() == r["sent"]         # kernel -> barenet byte-exact
    assert r["got"] == sha(data)                     # barenet -> kernel byte-exact
