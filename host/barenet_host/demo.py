"""`make demo`: barenet answering the real Linux kernel, or two barenet stacks on a virtual wire.

As root it makes a private network namespace (NETWORK-RULES.md) with a TAP in it addressed
192.0.2.1/24, starts `barenet serve` there as 192.0.2.2, and lets the kernel ping it, trade UDP
datagrams with it and talk TCP to it (nc, bulk transfers from Python sockets, curl on the status
page), printing each step. Without root it runs two stacks on a virtual wire in this process
(ping, UDP, TCP echo).
"""

import json
import os
import select
import signal
import subprocess
import sys

from barenet_host.netns import NetNS, unique_name

KERNEL = "192.0.2.1"
BARENET = "192.0.2.2"
TIMEOUT_S = 20

# Runs inside the namespace: kernel TCP sockets move 20 MB to barenet's discard service and
# 20 MB out of its chargen service, timing each.
_TCP_BULK = r"""
import socket, sys, time
n = 20 * 1000 * 1000
s = socket.create_connection((sys.argv[1], 9), timeout=10)
t = time.perf_counter(); sent = 0; block = bytes(65536)
while sent < n:
    sent += s.send(block[:n - sent])
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print("  kernel -> barenet discard: 20 MB in %.2f s (%.1f MB/s)" % (
    time.perf_counter() - t, n / (time.perf_counter() - t) / 1e6))
s = socket.create_connection((sys.argv[1], 19), timeout=10)
t = time.perf_counter(); got = 0
while got < n:
    got += len(s.recv(262144))
print("  barenet chargen -> kernel: 20 MB in %.2f s (%.1f MB/s)" % (
    time.perf_counter() - t, n / (time.perf_counter() - t) / 1e6))
"""

# Runs inside the namespace: a kernel UDP socket talks to barenet's echo port.
_UDP_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for msg in (b"hello barenet", b"x" * 2000):
    s.sendto(msg, (sys.argv[1], 7))
    data, peer = s.recvfrom(65535)
    print("  kernel UDP socket got %d bytes back from %s:%d, %s" % (
        len(data), peer[0], peer[1], "identical" if data == msg else "DIFFERENT"))
"""


def say(text=""):
    print(text, flush=True)


def run_shown(ns, cmd):
    say("$ " + " ".join(cmd))
    r = ns.run(cmd, timeout=TIMEOUT_S)
    for line in (r.stdout + r.stderr).rstrip().splitlines():
        say("  " + line)
    return r.returncode


def show_status_page(ns):
    """curl the status page; show the response head and what the JSON says about TCP."""
    url = "http://%s/?format=json" % BARENET
    say("$ curl -i " + url)
    r = ns.run(["curl", "-sS", "-i", "-m", "5", url], timeout=TIMEOUT_S)
    head, _, body = r.stdout.replace("\r\n", "\n").partition("\n\n")
    for line in head.splitlines():
        say("  " + line)
    try:
        doc = json.loads(body)
    except ValueError:
        say("  (no JSON: %r)" % (r.stdout + r.stderr)[:200])
        return 1
    say("  ... tcp counters: %s" % doc["stats"]["tcp"])
    for c in doc["connections"]:
        say("  ... connection %s -> %s %s cwnd %d srtt %d ms rto %d ms" % (
            c["remote"], c["local"], c["state"], c["cwnd"], c["srtt_ms"], c["rto_ms"]))
    return 0


def kernel_demo():
    tap = unique_name("d")
    with NetNS() as ns:
        ns.tuntap_add(tap)
        ns.addr(tap, KERNEL + "/24")
        ns.up(tap)
        say("namespace %s: kernel on %s as %s/24; barenet will be %s" % (ns.name, tap, KERNEL, BARENET))
        cmd = [sys.executable, "-m", "barenet_host.cli", "serve", "--tap", tap,
               "--ip", BARENET + "/24", "--udp-echo", "7", "--apps", "echo,discard,chargen,http"]
        proc = ns.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT_S)
            banner = proc.stdout.readline() if ready else ""
            if not banner.startswith("barenet: serving"):
                say("barenet serve did not start: %r" % (banner or proc.stderr.read(),))
                return 1
            say(banner.rstrip())
            say()
            failures = 0
            failures += run_shown(ns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", BARENET]) != 0
            say()
            failures += run_shown(ns, ["ping", "-c", "2", "-s", "3000", "-W", "2", BARENET]) != 0
            say()
            failures += run_shown(ns, ["ip", "neigh", "show", BARENET]) != 0
            say()
            say("$ python3 (UDP client in the namespace) -> %s:7" % BARENET)
            r = ns.run([sys.executable, "-c", _UDP_CLIENT, BARENET], timeout=TIMEOUT_S)
            say((r.stdout + r.stderr).rstrip())
            failures += r.returncode != 0
            say()
            say("$ printf 'hello over TCP\\n' | nc -N %s 7" % BARENET)
            r = ns.run(["sh", "-c", "printf 'hello over TCP\\n' | nc -N -w 5 %s 7" % BARENET],
                       timeout=TIMEOUT_S)
            say("  " + (r.stdout + r.stderr).rstrip())
            failures += r.stdout != "hello over TCP\n"
            say()
            say("$ python3 (TCP bulk transfers in the namespace)")
            r = ns.run([sys.executable, "-c", _TCP_BULK, BARENET], timeout=TIMEOUT_S * 3)
            say((r.stdout + r.stderr).rstrip())
            failures += r.returncode != 0
            say()
            failures += show_status_page(ns)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=TIMEOUT_S)
        say()
        say(out.rstrip())
        say()
        say("demo %s" % ("OK" if not failures else "FAILED (%d steps)" % failures))
        return 1 if failures else 0


def virtual_demo():
    from barenet_host.vwire import Sim

    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", KERNEL + "/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", BARENET + "/24")
    ping = a.icmp.echo_endpoint(1)
    replies = []
    for seq in range(3):
        ping.send(BARENET, seq, b"barenet demo ping")
        got = sim.run(until=lambda: ping.recv() is not None, max_ms=1000)
        replies.append(got)
        say("  ping seq=%d %s -> %s: reply %s" % (seq, KERNEL, BARENET, "received" if got else "MISSING"))
    echo = b.udp.bind(7)
    client = a.udp.bind()
    client.sendto(b"hello barenet", (BARENET, 7))
    sim.run(until=lambda: echo.pending() > 0, max_ms=1000)
    data, peer = echo.recvfrom()
    echo.sendto(data, peer)
    sim.run(until=lambda: client.pending() > 0, max_ms=1000)
    back = client.recvfrom()
    say("  UDP %r to %s:7 came back as %r" % (b"hello barenet", BARENET, back[0]))
    from barenet.apps.echo import TCPEcho
    sim.add_task(TCPEcho(b, 7).poll, b)
    conn = a.tcp.connect(BARENET, 7)
    data = bytes(range(256)) * 4096
    got = bytearray()
    sent = [0]

    def tcp_client(now):
        if sent[0] < len(data):
            sent[0] += conn.send(memoryview(data)[sent[0]:sent[0] + 65536])
            if sent[0] == len(data):
                conn.shutdown_write()
        d = conn.recv(65536)
        while d:
            got.extend(d)
            d = conn.recv(65536)

    sim.add_task(tcp_client)
    sim.run(until=lambda: len(got) == len(data), max_ms=60000)
    say("  TCP %d bytes through %s:7 echo came back %s (%d segments retransmitted)" % (
        len(data), BARENET, "identical" if got == data else "DIFFERENT", conn.info()["retransmits"]))
    for layer, counters in sorted(b.stats.items()):
        if counters:
            say("  %s counters of %s: %s" % (layer, BARENET, counters))
    ok = all(replies) and back[0] == b"hello barenet" and got == data
    say("demo %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    if os.geteuid() == 0:
        return kernel_demo()
    say("not root: TAP devices and network namespaces need root, so this demo runs two barenet")
    say("stacks on an in-process virtual wire instead (run `sudo make demo` for the kernel demo).")
    return virtual_demo()


if __name__ == "__main__":
    sys.exit(main())
