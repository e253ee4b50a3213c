"""DHCP and DNS against real peers (root: a TAP into a fresh network namespace, NETWORK-RULES.md):

- barenet's DHCP client (barenet/dhcp.py) gets its lease from a real dnsmasq in the namespace
  and resolves names dnsmasq serves, one of them too big for UDP (TC, then TCP, RFC 7766 5);
  renews at T1, rebinds at T2 with dnsmasq restarted, loses an expired lease with no server and
  releases one (gone from the lease file), the clock skipped forward; a 30 s TTL is asked again;
  the same names asked through CPython's own getaddrinfo there (glibc, dnsmasq as its server)
  give the same addresses and the same gaierror codes;
- the gateway's DHCP server (barenet_host.nat.dhcpd) gives a lease to busybox udhcpc on the
  kernel side, which then pings the gateway from the leased address;
- the gateway's DNS forwarder (barenet_host.nat.dnsfwd) carries a barenet query to a dnsmasq on
  127.0.0.1 and the answer back, a truncated one again over TCP (upstream with EDNS0).
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from barenet import dns
from barenet import ticks
from barenet.dhcp import BOUND, INIT, RENEWING, SELECTING, DHCPClient
from barenet.loop import Loop
from barenet.socket import Sockets, gaierror
from barenet.stack import Stack
from barenet_host.devices.tap import TapDevice
from barenet_host.devices.udp import UDPDevice
from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.nat.dnsfwd import DNSForwarder
from barenet_host.netns import unique_name
from barenet_host.runner import Runner, RunnerDriver, now_ms
from procs import STOP_S, stop

KERNEL_CIDR = "192.0.2.1/24"
MAC = b"\x02\x00\xc0\x00\x02\x02"
MANY = ["198.51.100.%d" % i for i in range(1, 61)]       # 60 A records: over 512 bytes


def start_dnsmasq(ns_or_none, tmp_path, *args):
    """dnsmasq in the foreground, logging to stderr, no system files: -> Popen, once its
    "started" line has come. ns_or_none: run inside that namespace, else here (127.0.0.1)."""
    hosts = tmp_path / "hosts"
    hosts.write_text("".join("%s many.test\n" % a for a in MANY))
    cmd = ["dnsmasq", "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
           "--no-resolv", "--no-hosts", "--addn-hosts=%s" % hosts, "--user=root",
           "--pid-file=", "--bind-interfaces", "--log-queries",
           "--address=/board.test/192.0.2.9", "--host-record=v6only.test,2001:db8::1",
           "--local=/test/"] + list(args)
    if ns_or_none is not None:
        p = ns_or_none.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    else:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for _ in range(20):
        if not select.select([p.stderr], [], [], 5)[0]:
            break
        line = p.stderr.readline()
        lines.append(line)
        if "started" in line or not line:
            break
    if p.poll() is not None or not any("started" in x for x in lines):
        stop(p)
        pytest.fail("dnsmasq did not start: %r" % lines)
    return p


def run_until_exit(runner, proc, timeout_s):
    """Run the stack until proc (started with stdout=PIPE) exits: its pipe's end of file
    wakes the runner, which otherwise sleeps until the next frame."""
    fd = proc.stdout.fileno()
    runner.add_fd(fd, lambda now: None)
    try:
        runner.run(until=lambda: proc.poll() is not None, timeout_s=timeout_s)
    finally:
        runner.remove_fd(fd)
    out, err = proc.communicate(timeout=STOP_S)
    return proc.returncode, out, err


def ping(ns, runner, addr):
    p = ns.popen(["ping", "-c", "1", "-W", "3", addr], stdout=subprocess.PIPE)
    return run_until_exit(runner, p, 10)[0]


@pytest.fixture
def bare_tap(netns):
    """A TAP whose kernel side is up in the namespace, with no address yet."""
    tap = TapDevice(unique_name("d"))
    try:
        netns.move(tap.name)
        netns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap.name, 1)
        netns.up(tap.name)
        yield tap
    finally:
        tap.close()


@pytest.fixture
def netns_resolv(netns):
    """/etc/netns/NS/resolv.conf: `ip netns exec` mounts it over /etc/resolv.conf (ip-netns(8)),
    so CPython's getaddrinfo in the namespace asks the dnsmasq there. Removed afterwards."""
    d = os.path.join("/etc/netns", netns.name)
    os.makedirs(d)
    try:
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write("nameserver 192.0.2.1\noptions timeout:2 attempts:1\n")
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


_CPYTHON_LOOKUP = """
import json, socket, sys
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = sorted(set(a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET,
                                                                   socket.SOCK_STREAM)))
    except socket.gaierror as e:
        out[name] = e.errno
print(json.dumps(out))
"""


@pytest.mark.root
def test_client_gets_a_lease_from_dnsmasq_and_resolves_like_glibc(netns, bare_tap, tmp_path,
                                                                   netns_resolv):
    netns.addr(bare_tap.name, KERNEL_CIDR)
    d = start_dnsmasq(netns, tmp_path, "--interface=%s" % bare_tap.name,
                      "--listen-address=192.0.2.1",
                      "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m",
                      "--dhcp-option=option:router,192.0.2.1",
                      "--dhcp-option=option:dns-server,192.0.2.1",
                      "--dhcp-leasefile=%s" % (tmp_path / "leases"))
    try:
        stack = Stack("host")
        iface = stack.add_interface(bare_tap, mac=MAC, now_ms=now_ms())
        runner = Runner(stack)
        client = DHCPClient(stack, iface, hostname="board")
        runner.add_task(client.poll)
        assert not iface.configured
        assert runner.run(until=lambda: client.state == BOUND, timeout_s=20), client.info()
        info = client.info()
        assert info["address"].startswith("192.0.2.") and info["address"].endswith("/24")
        assert info["router"] == "192.0.2.1" and info["dns"] == ["192.0.2.1"]
        assert info["server"] == "192.0.2.1" and info["lease_s"] == 120
        addr = info["address"].split("/")[0]
        # dnsmasq's lease file names our MAC, address and host name
        leases = (tmp_path / "leases").read_text()
        assert "02:00:c0:00:02:02 %s board" % addr in leases
        # the kernel reaches the leased address
        assert ping(netns, runner, addr) == 0

        net = Sockets(stack, RunnerDriver(runner))
        names = ["board.test", "many.test", "nowhere.test", "v6only.test"]
        ours = {}
        for name in names:
            try:
                ours[name] = sorted(set(a[4][0] for a in net.getaddrinfo(
                    name, 80, net.AF_INET, net.SOCK_STREAM)))
            except gaierror as e:
                ours[name] = e.errno
        r = stack.resolver
        assert r.stats["truncated"] == 1 and r.stats["rx_tcp"] == 1
        assert ours["board.test"] == ["192.0.2.9"]
        assert ours["many.test"] == sorted(MANY)
        assert ours["nowhere.test"] == dns.EAI_NONAME
        # glibc, in the namespace, asking the same dnsmasq: the reference for every answer
        # (the barenet stack keeps answering ARP for it meanwhile, not that glibc needs it)
        p = netns.popen([sys.executable, "-c", _CPYTHON_LOOKUP] + names,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, out, err = run_until_exit(runner, p, 20)
        assert json.loads(out) == ours, err
        client.release(runner.clock())
        runner.run(until=lambda: False, timeout_s=0.3)
        runner.close()
    finally:
        stop(d)


UDHCPC_SCRIPT = """#!/bin/sh
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns lease=$lease serverid=$serverid" >> %s
if [ "$1" = bound ]; then ip addr add "$ip/$subnet" dev "$interface"; fi
exit 0
"""


@pytest.mark.root
def test_server_gives_busybox_udhcpc_a_lease(netns, bare_tap, tmp_path):
    log = tmp_path / "events"
    script = tmp_path / "script"
    script.write_text(UDHCPC_SCRIPT % log)
    script.chmod(0o755)
    gw = Stack("host")
    gw.add_interface(bare_tap, mac=b"\x02\x00\xc0\x00\x02\x01", ip="192.0.2.1/24",
                     now_ms=now_ms())
    srv = DHCPServer(gw, "192.0.2.100", "192.0.2.110", lease_s=300)
    runner = Runner(gw)
    runner.add_task(srv.poll)
    p = netns.popen(["busybox", "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "2",
                     "-i", bare_tap.name, "-s", str(script), "-x", "hostname:kernel"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        rc, out, _ = run_until_exit(runner, p, 30)
        assert rc == 0, out
        events = log.read_text()
        assert ("bound ip=192.0.2.100 subnet=255.255.255.0 router=192.0.2.1 dns=192.0.2.1 "
                "lease=300 serverid=192.0.2.1") in events, (events, out)
        assert srv.leases()[0][1:] == ("192.0.2.100", True)
        assert "192.0.2.100/24" in netns.ip("addr", "show", "dev", bare_tap.name).stdout
        # from the leased address, the kernel pings the gateway
        assert ping(netns, runner, "192.0.2.1") == 0
    finally:
        stop(p, signal.SIGKILL)
        runner.close()


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.root
def test_forwarder_relays_a_barenet_query_to_dnsmasq_and_back(tmp_path):
    # dnsmasq on 127.0.0.1 only (NETWORK-RULES.md: loopback is fine); the board and the
    # gateway are two stacks joined by a UDP frame link on 127.0.0.1
    port = free_udp_port()
    d = start_dnsmasq(None, tmp_path, "--listen-address=127.0.0.1", "--port=%d" % port,
                      "--interface=lo", "--no-dhcp-interface=lo")
    gdev = UDPDevice(0, link="ip")
    bdev = UDPDevice(0, link="ip")
    gdev.peer, bdev.peer = bdev.addr, gdev.addr
    try:
        gw = Stack("host")
        gw.add_interface(gdev, ip="192.0.2.1/24", link="ip", now_ms=now_ms())
        board = Stack("board")
        board.add_interface(bdev, ip="192.0.2.2/24", link="ip", now_ms=now_ms())
        runner = Runner(gw)
        fwd = DNSForwarder(gw, runner, ("127.0.0.1", port))
        runner.add_task(fwd.poll)
        board_loop = Loop(board)
        runner.add_task(board_loop.step)
        runner.add_fd(bdev.fileno(), lambda now: None)    # a board frame wakes the runner
        r = dns.Resolver(board, servers=["192.0.2.1"])
        got = {}
        for name in ("board.test", "nowhere.test", "many.test"):
            q = r.lookup(name, now_ms())
            assert runner.run(until=lambda: q.done, timeout_s=10)
            got[name] = (q.error, q.addresses)
        assert got["board.test"] == (0, [bytes([192, 0, 2, 9])])
        assert got["nowhere.test"] == (dns.EAI_NONAME, [])
        # truncated over UDP, then over TCP to the gateway, which asks with EDNS0
        assert got["many.test"][0] == 0
        assert sorted(got["many.test"][1]) == sorted(socket.inet_aton(a) for a in MANY)
        assert r.stats["truncated"] == 1 and r.stats["rx_tcp"] == 1
        assert fwd.stats == {"forwarded": 4, "answered": 4, "tcp_queries": 1}
        assert fwd.pending == {} and fwd.tcp == []
        fwd.close()
        runner.close()
    finally:
        gdev.close()
        bdev.close()
        stop(d)


class SkewedClock:
    """now_ms() plus a skip forward the test sets: the client's T1, T2 and lease end and the
    resolver's TTL come due at once, while dnsmasq keeps its own clock (leases of 2 min,
    dnsmasq's least, would otherwise take minutes of real time)."""

    def __init__(self):
        self.skip_ms = 0

    def __call__(self):
        return ticks.add(now_ms(), self.skip_ms)

    def skip(self, s):
        self.skip_ms += int(s * 1000)


def lease_lines(path, mac="02:00:c0:00:02:02"):
    return [x for x in path.read_text().splitlines() if mac in x] if path.exists() else []


@pytest.mark.root
def test_lease_renew_rebind_expiry_release_and_ttl_against_dnsmasq(netns, bare_tap, tmp_path):
    netns.addr(bare_tap.name, KERNEL_CIDR)
    leases = tmp_path / "leases"
    args = ("--interface=%s" % bare_tap.name, "--listen-address=192.0.2.1",
            "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m",
            "--dhcp-option=option:dns-server,192.0.2.1", "--dhcp-authoritative",
            "--dhcp-leasefile=%s" % leases, "--local-ttl=30")
    d = start_dnsmasq(netns, tmp_path, *args)
    clock = SkewedClock()
    try:
        stack = Stack("host")
        iface = stack.add_interface(bare_tap, mac=MAC, now_ms=clock())
        runner = Runner(stack, clock=clock)
        client = DHCPClient(stack, iface, hostname="board", now_ms=clock())
        runner.add_task(client.poll)
        assert runner.run(until=lambda: client.state == BOUND, timeout_s=20), client.info()
        assert client.info()["lease_s"] == 120 and len(lease_lines(leases)) == 1

        # TTL: dnsmasq's local answers last 30 s; the cache answers until then, then asks again
        net = Sockets(stack, RunnerDriver(runner))
        assert net.gethostbyname("board.test") == "192.0.2.9"
        assert net.gethostbyname("board.test") == "192.0.2.9"
        r = stack.resolver    # made by the first lookup
        assert r.stats["tx_udp"] == 1 and r.stats["cache_hit"] == 1
        clock.skip(31)
        assert net.gethostbyname("board.test") == "192.0.2.9"
        assert r.stats["tx_udp"] == 2 and r.stats["cache_hit"] == 1

        # Renew at T1: unicast to dnsmasq, ACKed (RFC 2131 4.4.5)
        clock.skip(client.info()["renew_in_s"] + 1)
        assert runner.run(until=lambda: client.stats.get("renewed") == 1, timeout_s=10), \
            client.info()
        assert client.state == BOUND

        # Rebind: dnsmasq is down at T1, so the renewal goes unanswered; restarted (same lease
        # file) before T2, it answers the broadcast REQUEST of REBINDING
        stop(d)
        info = client.info()
        clock.skip(info["renew_in_s"] + 1)
        runner.run(until=lambda: client.state == RENEWING, timeout_s=5)
        runner.run(until=lambda: False, timeout_s=0.5)
        assert client.state == RENEWING and client.stats["renewed"] == 1
        d = start_dnsmasq(netns, tmp_path, *args)
        clock.skip(info["rebind_in_s"] - info["renew_in_s"])
        assert runner.run(until=lambda: client.stats.get("rebound") == 1, timeout_s=10), \
            client.info()
        assert client.state == BOUND and iface.configured

        # Expiry with no server: the address goes, the client starts over (INIT, DISCOVER)
        stop(d)
        clock.skip(client.info()["expires_in_s"] + 1)
        assert runner.run(until=lambda: client.stats.get("expired") == 1, timeout_s=10)
        assert not iface.configured and client.state in (INIT, SELECTING)

        # A server again: a fresh lease; released, it is gone from dnsmasq's lease file
        d = start_dnsmasq(netns, tmp_path, *args)
        assert runner.run(until=lambda: client.state == BOUND, timeout_s=20), client.info()
        assert len(lease_lines(leases)) == 1
        client.release(runner.clock())
        runner.run(until=lambda: not lease_lines(leases), timeout_s=5)
        assert lease_lines(leases) == [] and not iface.configured
        runner.close()
    finally:
        stop(d)
