"""`make demo`: barenet answering the real Linux kernel, or two barenet stacks on a virtual wire.

As root it makes a private network namespace (NETWORK-RULES.md) with a TAP in it addressed
192.0.2.1/24, starts `barenet serve` there as 192.0.2.2, and lets the kernel ping it and trade
UDP datagrams with it, printing each step. Without root it runs two stacks in this process.
"""

import os
import select
import signal
import subprocess
import sys

from barenet_host.netns import NetNS, unique_name

KERNEL = "192.0.2.1"
BARENET = "192.0.2.2"
TIMEOUT_S = 20

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


def kernel_demo():
    tap = unique_name("d")
    with NetNS() as ns:
        ns.tuntap_add(tap)
        ns.addr(tap, KERNEL + "/24")
        ns.up(tap)
        say("namespace %s: kernel on %s as %s/24; barenet will be %s" % (ns.name, tap, KERNEL, BARENET))
        cmd = [sys.executable, "-m", "barenet_host.cli", "serve", "--tap", tap,
               "--ip", BARENET + "/24", "--udp-echo", "7"]
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
    for layer, counters in sorted(b.stats.items()):
        if counters:
            say("  %s counters of %s: %s" % (layer, BARENET, counters))
    ok = all(replies) and back[0] == b"hello barenet"
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
