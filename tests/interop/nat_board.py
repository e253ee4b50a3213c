"""A board behind `barenet bridge --nat`, for tests/interop/test_bridge_nat.py: a barenet stack
on the UDP tunnel to the bridge (udp:ADDR:PORT,ip, bare datagrams), serving the status page
(80) and TCP echo (7) all along, and doing through the NAT what the test names, one JSON line
on stdout per step. Run inside the test's namespace:

    python nat_board.py BRIDGE_PORT FAR_IP STEP...

It first gets its address by DHCP from the bridge ({"dhcp": ...}). Steps: resolve:NAME
(through the gateway's DNS forwarder), fetch:PORT:PATH (HTTP GET, sha256 of the body), ping:N, udp:N:PORT (N concurrent flows
to an echo server), echo:BYTES:PORT (bulk both ways, sha256), connect:IP:PORT (the errno, or
"connected"). Then
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
from barenet.addr import ip_ntoa  # noqa: E402
from barenet.dhcp import DHCPClient  # noqa: E402
from barenet.dns import Resolver  # noqa: E402
from barenet.apps.echo import TCPEcho  # noqa: E402
from barenet.apps.status import StatusPage  # noqa: E402
from barenet.stack import Stack  # noqa: E402
from barenet_host.runner import Runner, RunnerDriver, now_ms  # noqa: E402

TIMEOUT_S = 20


def say(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def resolve(stack, runner, name):
    # The core resolver (servers from DHCP) waited on by Runner.run, which looks after every
    # step: socket.gethostbyname's driver can sleep past an answer that the step before its
    # wait completed (noted in the report of helper nat)
    r = stack.resolver or Resolver(stack)
    q = r.lookup(name, runner.clock())
    runner.run(until=lambda: q.done, timeout_s=TIMEOUT_S)
    say(resolve=ip_ntoa(q.addresses[0]) if q.done and not q.error else q.error)


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


def connect(net, ip, port):
    s = net.socket(net.AF_INET, net.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    try:
        s.connect((ip, port))
        say(connect="connected")
    except OSError as e:
        say(connect=e.errno)
    s.close()


def udp_error(net, ip, port):
    """A datagram to ip:port on a connected socket: -> the errno the ICMP error the NAT passed
    on gives the next recv (RFC 1122 4.1.3.3), or "answered"/"timeout"."""
    s = net.socket(net.AF_INET, net.SOCK_DGRAM)
    s.settimeout(TIMEOUT_S)
    s.connect((ip, port))
    try:
        s.send(b"anyone?")
        s.recv(100)
        say(udp_error="answered")
    except OSError as e:
        say(udp_error=e.errno if e.errno else "timeout")
    s.close()


def main():
    port, far, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    link = UDPLink("127.0.0.1", port)
    stack = Stack("host")
    # Unconfigured: the address, the router and the name server come from the bridge's DHCP
    iface = stack.add_interface(link, link="ip", mtu=1500, now_ms=now_ms())
    runner = Runner(stack)
    # The bridge learns the board's UDP source from its first datagram (an empty one)
    link.send(b"")
    client = DHCPClient(stack, iface, client_id=b"\x00nat-board")
    runner.add_task(client.poll)
    runner.run(until=lambda: iface.configured, timeout_s=TIMEOUT_S)
    say(dhcp="%s/%d" % (ip_ntoa(iface.ip), iface.prefix),
        router=ip_ntoa(iface.gateway) if iface.gateway else None)
    for app in (StatusPage(stack, 80), TCPEcho(stack, 7)):
        runner.add_task(app.poll)
    net = bsock.Sockets(stack, RunnerDriver(runner))
    signal.signal(signal.SIGTERM, lambda *a: runner.stop())
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
        elif kind == "resolve":
            resolve(stack, runner, a[0])
        elif kind == "connect":
            connect(net, a[0], int(a[1]))
        elif kind == "udperr":
            udp_error(net, a[0], int(a[1]))
    say(ready=True)
    runner.run()


if __name__ == "__main__":
    main()
