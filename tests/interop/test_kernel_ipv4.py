"""barenet's ARP, IPv4 (with fragmentation), ICMP echo and UDP against the Linux kernel.

Each test gets a fresh namespace whose kernel side is 192.0.2.1/24; barenet is 192.0.2.2/24,
either as `barenet serve` (kernel-initiated traffic) or in-process on the TAP fd (traffic that
barenet starts). Expectations are what a conforming host must do: RFC 792 echo replies,
RFC 791 fragmentation and reassembly, RFC 826 ARP, RFC 862 echo, RFC 919/922 broadcast.
"""

import json
import re

import pytest

pytestmark = pytest.mark.root


# -- the kernel starts: ping, ARP -------------------------------------------------------------

def test_ping(serve, kernel):
    serve()
    r = kernel.ping("-c", 3, "-i", 0.2, "-W", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 3 received" in r.stdout


def test_ping_3000_bytes_fragmented_both_ways(serve, kernel):
    # RFC 791 2.3: the kernel fragments the 3028-byte request to fit the 1500-byte MTU, barenet
    # reassembles it, and the reply must be fragmented by barenet and reassembled by the kernel.
    serve()
    before = kernel.ip_counters()
    r = kernel.ping("-c", 3, "-i", 0.2, "-W", 2, "-s", 3000)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("3008 bytes from 192.0.2.2") == 3
    after = kernel.ip_counters()
    assert after["FragCreates"] - before["FragCreates"] >= 3 * 3  # our requests, 3 fragments each
    assert after["ReasmOKs"] - before["ReasmOKs"] == 3  # barenet's replies came fragmented


def test_100_pings_without_loss(serve, kernel):
    serve()
    r = kernel.ping("-c", 100, "-i", 0.01, "-W", 2, "-q", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "100 packets transmitted, 100 received, 0% packet loss" in r.stdout


def test_kernel_arp_resolves_barenet(serve, kernel):
    s = serve()
    assert kernel.ping("-c", 1, "-W", 2).returncode == 0
    entry = kernel.neigh(s.tap)
    assert "lladdr 02:00:c0:00:02:02" in entry, entry
    assert re.search(r"\b(REACHABLE|STALE|DELAY)\b", entry), entry


def test_kernel_arp_learns_configured_mac(serve, kernel):
    s = serve("--mac", "02:12:34:56:78:9a")
    assert kernel.ping("-c", 1, "-W", 2).returncode == 0
    assert "lladdr 02:12:34:56:78:9a" in kernel.neigh(s.tap)


# -- UDP echo for a kernel socket ---------------------------------------------------------------

UDP_ECHO_CLIENT = r"""
import json, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
results = []
for size in (0, 1, 100, 1472, 1473, 3000, 8000):
    data = bytes((i * 7 + size) & 0xFF for i in range(size))
    s.sendto(data, ("192.0.2.2", 7))
    try:
        back, peer = s.recvfrom(65535)
        results.append([size, back == data, peer[0], peer[1]])
    except socket.timeout:
        results.append([size, False, None, None])
print(json.dumps(results))
"""


def test_udp_echo_answers_kernel_socket(serve, kernel):
    serve("--udp-echo", "7")
    r = kernel.py(UDP_ECHO_CLIENT)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    # 1473 and up do not fit one 1500-byte frame: fragmented both ways.
    assert results == [[size, True, "192.0.2.2", 7] for size in (0, 1, 100, 1472, 1473, 3000, 8000)]


def test_udp_to_closed_port_gets_port_unreachable(serve, kernel):
    # RFC 1122 4.1.3.1: a datagram for a port nobody listens on is answered with ICMP port
    # unreachable, which a connected kernel socket reports as ECONNREFUSED.
    serve()
    r = kernel.py(r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("192.0.2.2", 9))
s.send(b"x")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
""")
    assert r.stdout.strip() == "refused", r.stdout + r.stderr


# -- barenet starts: ping the kernel, receive broadcasts ----------------------------------------

@pytest.mark.parametrize("size", [56, 3000])
def test_barenet_pings_kernel(barenet, kernel, size):
    ep = barenet.stack.icmp.echo_endpoint(0x4242)
    replies = []

    def collect(now):
        got = ep.recv()
        while got is not None:
            replies.append(got)
            got = ep.recv()
        return None

    barenet.runner.add_task(collect)
    payloads = {seq: bytes((seq + i) & 0xFF for i in range(size)) for seq in (1, 2, 3)}
    # One at a time, like ping: three 3000-byte requests are nine fragments, more than the
    # ARP pending queue holds while the first resolution is outstanding.
    for seq, data in payloads.items():
        ep.send(kernel.ip, seq, data)
        assert barenet.run(until=lambda: len(replies) == seq, timeout_s=5), barenet.stack.stats
    assert replies == [(kernel.ip, seq, payloads[seq]) for seq in (1, 2, 3)]
    # The kernel answered, so it also learned barenet's MAC from our ARP request (RFC 826).
    assert "lladdr 02:00:c0:00:02:02" in kernel.neigh(barenet.peer.name)


BROADCAST_SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
# The limited broadcast needs an interface: bind to the namespace's only address.
s.bind(("192.0.2.1", 0))
s.sendto(sys.argv[2].encode(), (sys.argv[1], 5353))
print(s.getsockname()[1])
"""


@pytest.mark.parametrize("dst", ["192.0.2.255", "255.255.255.255"])
def test_kernel_broadcast_reaches_barenet_udp(barenet, kernel, dst):
    ep = barenet.stack.udp.bind(port=5353)
    got = []

    def collect(now):
        d = ep.recvfrom()
        if d is not None:
            got.append(d)
        return None

    barenet.runner.add_task(collect)
    sender = kernel.popen_py(BROADCAST_SENDER, dst, "hello " + dst)
    try:
        assert barenet.run(until=lambda: got, timeout_s=5), barenet.stack.stats
        out, err = sender.communicate(timeout=10)
        assert sender.returncode == 0, err
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.communicate(timeout=10)
    assert got == [(("hello " + dst).encode(), (kernel.ip, int(out)))]
