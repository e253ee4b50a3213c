"""`barenet serve` under a SYN flood (issue 8 acceptance; RFC 4987): 20 000 spoofed SYNs from
random addresses in 198.51.100.0/24 and 203.0.113.0/24 and random ports, written as fast as
they go to the kernel side of the TAP with an AF_PACKET socket. barenet answers the first
1 024 (the host profile's SYN queue) with half-open entries and the rest with SYN cookies; its
SYN-ACKs go to the gateway (the kernel, which does not forward and drops them).

Meanwhile a kernel client connects to echo every 250 ms and must get its message back within
1 s each time, during the flood and right after it; an established connection streams through
echo across the whole flood and gets every byte back (SHA-256); and barenet's resident memory
stays within a stated bound.
"""

import json
import subprocess
import time

import pytest

from conftest import KERNEL_IP, readline
from test_serve_many_clients import rss_kb

pytestmark = pytest.mark.root

SYNS = 20000
FLOOD_MAX_S = 30            # the flood's time bound (NETWORK-RULES.md 4)
WINDOW = 256                # SYNs out at once without their SYN-ACK (FLOOD says why)
# barenet's SYN-ACKs to the spoofed sources (not the kernel client's), as classic BPF
SYNACK_BPF = "src host 192.0.2.2 and not dst host 192.0.2.1 and tcp[13] == 18"
PROBE_EVERY_S = 0.25
PROBE_LIMIT_MS = 1000       # the issue: a client connects within 1 s during and after
TRANSFER_MIN = 4 << 20      # the established transfer: at least 4 MB, and across the flood,
TRANSFER_PAUSE_S = 0.02     # at about 3 MB/s, so that the flood gets most of barenet's time
# barenet's VmRSS may grow by at most this much from before the flood to its end. Measured
# 2026-12-01 (4 runs): +3.5 to +4.1 MB from 18.4 MB (1 024 half-open connections without
# buffers and their timers, the probes' cookie connections). The bound is 8 times that, for
# a loaded machine's garbage; it fails if the SYN queue's entries held buffers (2 x 256 KB
# each: 512 MB, as before the core-seams issue) or if the flood were answered with entries
# instead of cookies (20 000 connections: some 70 MB).
RSS_GROWTH_KB = 32 * 1024

# argv: dev n max_s seed window bpf. Builds n SYN frames with struct (so the sending loop does
# little but send), prints "ready", sends them, prints a JSON line. Closed loop: at most window
# SYNs are out without their SYN-ACK, which a second AF_PACKET socket sees come back (a BPF
# filter from tcpdump keeps only barenet's SYN-ACKs to the spoofed sources; a retransmitted one
# counts once). A SYN dropped by the TAP's full queue (1 000 frames) would test the TAP, not
# barenet, and would drop the probes' SYNs with them: the flood goes as fast as barenet
# answers, with the queue never full.
FLOOD = r"""
import ctypes, json, random, socket, struct, sys, time
dev, n, max_s, seed, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
bpf = [tuple(int(x) for x in ln.split()) for ln in sys.argv[6].strip().splitlines()[1:]]
dst_mac = bytes.fromhex("0200c0000202")
src_mac = bytes.fromhex(open("/sys/class/net/%s/address" % dev).read().strip().replace(":", ""))
dst_ip = socket.inet_aton("192.0.2.2")
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
def dropped():
    with open("/sys/class/net/%s/statistics/tx_dropped" % dev) as f:
        return int(f.read())
rnd = random.Random(seed)
# MSS 1460, window scale 7, SACK-permitted: what a Linux client's SYN offers
opts = struct.pack("!BBHBBBBBBBB", 2, 4, 1460, 1, 3, 3, 7, 1, 1, 4, 2)
frames = []
for i in range(n):
    net = (198, 51, 100) if rnd.random() < 0.5 else (203, 0, 113)
    src = bytes(net + (rnd.randrange(1, 255),))
    tcp = struct.pack("!HHIIBBHHH", rnd.randrange(1024, 65536), 7, rnd.getrandbits(32), 0,
                      8 << 4, 0x02, 65535, 0, 0) + opts
    c = csum(src + dst_ip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, src,
                     dst_ip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frames.append(dst_mac + src_mac + b"\x08\x00" + ip + tcp)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
prog = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in bpf))
r.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(bpf), ctypes.addressof(prog)))
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
r.bind((dev, 0x0800))
r.setblocking(False)
answered = set()
buf = bytearray(128)
print("ready", flush=True)
drops0 = dropped()
t0 = time.monotonic()
sent = 0
last = t0
# Done when every SYN is answered, or 1 s after the last answer once all are sent (random
# sources may repeat an address and port: a handful of SYN-ACKs in 20 000 count once)
while len(answered) < n and time.monotonic() - t0 < max_s and \
        (sent < n or time.monotonic() - last < 1):
    if sent < n and sent - len(answered) < window:
        s.send(frames[sent])
        sent += 1
        continue
    try:
        r.recv_into(buf)
    except BlockingIOError:
        time.sleep(0.0002)
        continue
    answered.add(bytes(buf[30:34]) + bytes(buf[36:38]))   # destination address and port
    last = time.monotonic()
dt = last - t0
print(json.dumps({"sent": sent, "answered": len(answered), "seconds": dt, "rate": sent / dt,
                  "tap_dropped": dropped() - drops0}), flush=True)
"""

# argv: host port done_file every_s. Connects, sends a line, reads its echo, each within 1 s
# (socket timeouts), every every_s until 3 probes after done_file appears; prints JSON.
PROBE = r"""
import json, os, socket, sys, time
host, port, done, every = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
res = []
after = 0
t_end = time.monotonic() + 90
while after < 3 and time.monotonic() < t_end:
    over = os.path.exists(done)
    msg = b"probe %d\n" % len(res)
    t = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=1) as c:
            c.settimeout(max(0.001, 1 - (time.monotonic() - t)))
            c.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = c.recv(100)
                if not d:
                    break
                got += d
        ok = got == msg
    except OSError as e:
        ok = repr(e)
    res.append({"during": not over, "ms": (time.monotonic() - t) * 1000, "ok": ok})
    after += over
    time.sleep(every)
print(json.dumps(res), flush=True)
"""

# argv: host port done_file min_bytes pause_s. An established connection to echo: a thread
# writes a seeded stream, 64 KB every pause_s, until done_file exists and min_bytes are out;
# the main thread reads the echo.
TRANSFER = r"""
import hashlib, json, os, random, socket, sys, threading, time
host, port, done, least = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
pause = float(sys.argv[5])
c = socket.create_connection((host, port), timeout=30)
print("connected", flush=True)
rnd = random.Random(7)
chunks = [rnd.randbytes(65536) for _ in range(16)]
sent = [0, hashlib.sha256()]
t_end = time.monotonic() + 60
def writer():
    i = 0
    while (sent[0] < least or not os.path.exists(done)) and time.monotonic() < t_end:
        b = chunks[i % 16]
        c.sendall(b)
        sent[1].update(b)
        sent[0] += len(b)
        i += 1
        time.sleep(pause)
    c.shutdown(socket.SHUT_WR)
t0 = time.monotonic()
w = threading.Thread(target=writer)
w.start()
got, h = 0, hashlib.sha256()
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    got += len(d)
    h.update(d)
w.join()
print(json.dumps({"sent": sent[0], "got": got, "same": h.digest() == sent[1].digest(),
                  "seconds": time.monotonic() - t0}), flush=True)
"""


def test_syn_flood_keeps_echo_answering_spares_a_transfer_and_bounds_memory(serve, kernel,
                                                                              tmp_path):
    bpf = subprocess.run(["tcpdump", "-ddd", SYNACK_BPF], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    s = serve("--apps", "echo,discard,http", "--gateway", KERNEL_IP)
    ns = kernel.ns
    done = str(tmp_path / "flood_done")
    procs = []

    def start(source, *argv):
        p = kernel.popen_py(source, *[str(a) for a in argv])
        procs.append(p)
        return p

    try:
        transfer = start(TRANSFER, kernel.barenet_ip, 7, done, TRANSFER_MIN, TRANSFER_PAUSE_S)
        assert readline(transfer.stdout, 20).strip() == "connected", transfer.stderr.read()
        rss_before = rss_kb(ns, s.proc.pid)
        flood = start(FLOOD, s.tap, SYNS, FLOOD_MAX_S, 1, WINDOW, bpf)
        assert readline(flood.stdout, 60).strip() == "ready", flood.stderr.read()
        probe = start(PROBE, kernel.barenet_ip, 7, done, PROBE_EVERY_S)
        rss_max = rss_before
        deadline = time.monotonic() + FLOOD_MAX_S + 30
        while flood.poll() is None and time.monotonic() < deadline:
            rss_max = max(rss_max, rss_kb(ns, s.proc.pid))
            time.sleep(0.1)
        flood_out, flood_err = flood.communicate(timeout=10)
        with open(done, "w"):
            pass
        probe_out, probe_err = probe.communicate(timeout=60)
        transfer_out, transfer_err = transfer.communicate(timeout=90)
        rss_max = max(rss_max, rss_kb(ns, s.proc.pid))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate(timeout=10)
    rate = json.loads(flood_out.strip().splitlines()[-1])
    probes = json.loads(probe_out)
    moved = json.loads(transfer_out)
    status, summary, _ = s.stop()
    tcp = dict(kv.split("=") for part in summary.split("; ") if part.startswith("tcp ")
               for kv in part[4:].split())
    during = [p["ms"] for p in probes if p["during"]]
    after = [p["ms"] for p in probes if not p["during"]]
    print("flood: %(sent)d SYNs in %(seconds).2f s, %(rate).0f/s, %(answered)d answered, "
          "%(tap_dropped)d dropped by the TAP" % rate)
    print("connect+echo during the flood and its last second (ms): %s"
          % " ".join("%.1f" % m for m in during))
    print("connect+echo after the flood (ms): %s" % " ".join("%.1f" % m for m in after))
    print("transfer: %(sent)d bytes echoed in %(seconds).2f s, same=%(same)s" % moved)
    print("RSS: %d KB before, %d KB at most (+%d KB)" % (rss_before, rss_max,
                                                         rss_max - rss_before))
    print("barenet: " + summary)
    # Every SYN reached barenet and was answered (tcpdump's "birthday" collisions of random
    # source address and port, a handful in 20 000, count once: hence the margin)
    assert rate["sent"] == SYNS and rate["answered"] >= SYNS - 50, (rate, flood_err)
    bad = [p for p in probes if p["ok"] is not True or p["ms"] > PROBE_LIMIT_MS]
    assert not bad and len(during) >= 2 and len(after) == 3, (probes, probe_err)
    assert moved["same"] and moved["got"] == moved["sent"] >= TRANSFER_MIN, (moved, transfer_err)
    assert rss_max - rss_before < RSS_GROWTH_KB, (rss_before, rss_max)
    # The cookie path really ran: the SYN queue (1 024) took only the first SYNs
    assert int(tcp.get("syncookie_sent", 0)) >= SYNS // 2, summary
    assert "syncookie_failed" not in tcp, summary
    # and the real clients after the flood went through it too (the queue is still full)
    assert int(tcp.get("syncookie_recv", 0)) >= len(after), summary
