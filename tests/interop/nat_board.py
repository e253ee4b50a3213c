"""A board behind `barenet bridge --nat`, for tests/interop/test_bridge_nat.py: a barenet stack
on the UDP tunnel to the bridge (udp:ADDR:PORT,ip, bare datagrams), serving the status page
(80) and TCP echo (7) all along, and doing through the NAT what the test names, one JSON line
on stdout per step. Run inside the test's namespace:

    python nat_board.py BRIDGE_PORT FAR_IP STEP...

Steps: fetch:PORT:PATH (HTTP GET, sha256 of the body), ping:N, udp:N:PORT (N concurrent flows
to an echo server), echo:BYTES:PORT (bulk both ways, sha256), denied:IP:PORT. Then
{"ready": true} and it serves until SIGTERM.
"""

import hashlib
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "firmware"))

from drivers.udp_link import UDPLink  # noqa: E402  (the runtime's own socket module first)

from barenet import socket as bsock  # noqa: E402
from barenet.apps.echo import TCPEcho  # noqa: E402
from barenet.apps.status import StatusPage  # noqa: E402
from barenet.stack import Stack  # noqa: E402
from barenet_host.runner import Runner, RunnerDriver, now_ms  # noqa: E402

BOARD_CIDR, GATEWAY = "192.0.2.15/24", "192.0.2.1"
TIMEOUT_S = 20


def say(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def fetch(net, far, port, path):
    s = net.socket(net.AF_INET, net.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    s.connect((far, port))
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, far)).encode())
    got = bytearray()
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    say(fetch=hashlib.sha256(body).hexdigest(), status=head.split(b"\r\n")[0].decode(),
        length=len(body))


def ping(stack, runner, far, n):
    ep = stack.icmp.echo_endpoint(0x4242)
    got = 0
    for seq in range(n):
        ep.send(far, seq, b"barenet ping %d" % seq)
        end = time.monotonic() + 2
        while time.monotonic() < end:
            runner.run(until=lambda: ep._q, timeout_s=0.2)
            r = ep.recv()
            if r is not None:
                got += r[0] == far and r[1] == seq
                break
    ep.close()
    say(ping=got)


def udp_flows(net, far, n, port):
    socks = []
    for i in range(n):
        s = net.socket(net.AF_INET, net.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        s.sendto(b"flow %d" % i, (far, port))
        socks.append(s)
    ok = 0
    for i, s in enumerate(socks):
        s.settimeout(TIMEOUT_S)
        data, src = s.recvfrom(100)
        ok += data == b"flow %d" % i and src == (far, port)
    for s in socks:
        s.close()
    say(udp=ok)


def echo(net, far, n, port):
    # Both ways at once: a sender that never reads would stall the echo server's writes
    # and then its own (nonblocking calls each run a loop step)
    data = hashlib.sha256(b"through the NAT").digest() * (n // 32)
    s = net.socket(net.AF_INET, net.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    s.connect((far, port))
    s.setblocking(False)
    sent = 0
    got = bytearray()
    end = time.monotonic() + 60
    while len(got) < len(data) and time.monotonic() < end:
        if sent < len(data):
            try:
                sent += s.send(data[sent:sent + 16384])
            except OSError:
                pass            # EAGAIN: the send buffer is full
        try:
            got += s.recv(65536)
        except OSError:
            pass
    s.close()
    say(echo=hashlib.sha256(got).hexdigest(), want=hashlib.sha256(data).hexdigest(),
        length=len(got))


def denied(net, ip, port):
    s = net.socket(net.AF_INET, net.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    try:
        s.connect((ip, port))
        say(denied="connected")
    except OSError as e:
        say(denied=e.errno)
    s.close()


def main():
    port, far, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    link = UDPLink("127.0.0.1", port)
    stack = Stack("host")
    stack.add_interface(link, link="ip", ip=BOARD_CIDR, gateway=GATEWAY, mtu=1500,
                        now_ms=now_ms())
    runner = Runner(stack)
    for app in (StatusPage(stack, 80), TCPEcho(stack, 7)):
        runner.add_task(app.poll)
    net = bsock.Sockets(stack, RunnerDriver(runner))
    signal.signal(signal.SIGTERM, lambda *a: runner.stop())
    # The bridge learns the board's UDP source from its first datagram: one to the gateway
    link.send(b"")
    for step in steps:
        kind, _, rest = step.partition(":")
        a = rest.split(":")
        if kind == "fetch":
            fetch(net, far, int(a[0]), a[1])
        elif kind == "ping":
            ping(stack, runner, far, int(a[0]))
        elif kind == "udp":
            udp_flows(net, far, int(a[0]), int(a[1]))
        elif kind == "echo":
            echo(net, far, int(a[0]), int(a[1]))
        elif kind == "denied":
            denied(net, a[0], int(a[1]))
    say(ready=True)
    runner.run()


if __name__ == "__main__":
    main()
