"""The firmware (firmware/main.py) in the MicroPython unix VM against the Linux kernel, as a
Wi-Fi board: its NIC is the UDP tunnel (firmware/drivers/udp_link.py over the VM's own
sockets, which stand in for a Wi-Fi board's lwIP).

- Ethernet frames through a relay onto a TAP in a netns, where Debian's dnsmasq serves DHCP:
  the board takes a lease, and the kernel pings it, curls its status page and echoes 1 MB
  through it (sha256 checked).
- A lease change: dnsmasq restarted with another pool NAKs the renewal; the board takes a
  new address and serves there.
- A server offering nonsense (a /32 mask): refused, said on the log, never bound.
- Bare IP datagrams (`link.ip`) to `barenet bridge --board udp:PORT,ip` and its TUN, as issue
  11 asks for Wi-Fi boards: the kernel pings the board and curls its status page.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from barenet.dns import EAI_NONAME
from procs import Lines, stop
from test_dhcp_dns_kernel import MANY, start_dnsmasq
from vm_tunnel import Tunnel

pytestmark = pytest.mark.root

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BARENET = os.path.join(os.path.dirname(sys.executable), "barenet")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
HEAP = "1m"     # source modules compile in the heap; see test_firmware_vm.py
DATA = hashlib.sha256(b"kernel to firmware").digest() * (1 << 15)     # 1 MB


def firmware(tmp_path, link, net=None, popen=subprocess.Popen, program=()):
    """The VM running firmware/main.py from tmp_path with the virtual board's config, the
    tunnel as its link: -> (Popen, Lines of its REPL log). program: [script, args...] to run
    instead, given config.json's path first."""
    cfg = json.load(open(os.path.join(REPO, "boards", "virtual.json")))["config"]
    cfg.update(board="virtual", link=link, net=net or {"mode": "dhcp"})
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(
        [".frozen", os.path.join(REPO, "shared"), os.path.join(REPO, "firmware")]))
    run = [program[0], "config.json"] + list(program[1:]) if program else [
        os.path.join(REPO, "firmware", "main.py")]
    p = popen([MICROPYTHON, "-X", "heapsize=" + HEAP] + run, cwd=str(tmp_path), env=env,
              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, Lines(p)


def reaches(ns, ip, echo=True):
    r = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", ip], timeout=30)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout
    r = ns.run(["curl", "-s", "-m", "30", "http://%s/?format=json" % ip], timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stats"]["tcp"]["rx"] >= 1
    if echo:
        r = ns.run(["nc", "-N", "-w", "60", ip, "7"], input=DATA, text=False, timeout=200)
        assert hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(DATA).hexdigest(), \
            len(r.stdout)


class TunnelBoard:
    """The firmware on the UDP tunnel relayed onto tap_ns's TAP, where dnsmasq serves DHCP."""

    def __init__(self, tap_ns, tmp_path):
        self.ns = tap_ns.ns
        self.tap_ns = tap_ns
        self.tmp_path = tmp_path
        self.server = self.vm = self.log = None
        self.tunnel = Tunnel(tap_ns.tap)

    def dnsmasq(self, pool, leases, *opts):
        """(Re)start dnsmasq with pool "FIRST,LAST" (a /24, 120 s leases) and its own lease
        file."""
        if self.server is not None:
            stop(self.server)
        self.server = start_dnsmasq(self.ns, self.tmp_path, "--interface=" + self.tap_ns.name,
                                    "--except-interface=lo",
                                    "--dhcp-range=%s,255.255.255.0,120s" % pool,
                                    "--dhcp-leasefile=%s" % (self.tmp_path / leases), *opts)

    def boot(self, program=()):
        self.vm, self.log = firmware(self.tmp_path, {"driver": "udp_tunnel", "mac": "auto",
                                                     "host": "127.0.0.1",
                                                     "port": self.tunnel.port},
                                     program=program)
        return self.log

    def bound(self, prefix):
        """The board's DHCP line for an address starting prefix: -> (address, line)."""
        line = self.log.text("DHCP: bound " + prefix, timeout_s=60)
        return line.split("bound ")[1].split("/")[0], line

    def close(self):
        if self.vm is not None:
            stop(self.vm)
        self.tunnel.close()
        if self.server is not None:
            stop(self.server)


@pytest.fixture
def tunnel_board(tap_ns, tmp_path):
    b = TunnelBoard(tap_ns, tmp_path)
    try:
        yield b
    finally:
        b.close()


@pytest.mark.timeout(300)
def test_firmware_on_a_tunnel_takes_a_dnsmasq_lease_and_serves_the_kernel(tunnel_board,
                                                                          tmp_path):
    b = tunnel_board
    b.dnsmasq("192.0.2.50,192.0.2.60", "leases")
    log = b.boot()
    ip, line = b.bound("192.0.2.5")
    assert "router 192.0.2.1 dns 192.0.2.1 lease 120 s from 192.0.2.1" in line, line
    log.text("address %s/24" % ip)
    reaches(b.ns, ip)
    assert ip in (tmp_path / "leases").read_text()


@pytest.mark.timeout(300)
def test_the_board_s_getaddrinfo_resolves_through_the_dnsmasq_its_lease_named(tunnel_board):
    """A program beside the firmware (vm_fw_resolve.py) calls socket.getaddrinfo, as a
    board's own code does: names dnsmasq serves, one of them (60 A records) too big for UDP,
    so the truncated answer is asked again over TCP (RFC 7766 5), and one that is no name."""
    b = tunnel_board
    b.dnsmasq("192.0.2.50,192.0.2.60", "leases")
    log = b.boot(program=[os.path.join(HERE, "vm_fw_resolve.py"), "board.test", "many.test",
                          "nowhere.test"])
    b.bound("192.0.2.5")
    r = json.loads(log.until(lambda x: x.startswith("{"), "the lookups' JSON"))
    assert r["names"] == {"board.test": ["192.0.2.9"], "many.test": sorted(MANY),
                          "nowhere.test": EAI_NONAME}, r
    assert r["resolver"]["truncated"] == 1 and r["resolver"]["rx_tcp"] == 1, r


@pytest.mark.timeout(300)
def test_firmware_on_an_ip_tunnel_is_reached_through_barenet_bridge_s_tun(netns, tmp_path):
    port = 5555      # the namespace's own loopback: nothing else is there
    netns.up("lo")
    bridge = netns.popen([BARENET, "bridge", "--board", "udp:127.0.0.1:%d,ip" % port, "--tun",
                          "bfw0", "--local", "192.0.2.1", "--peer", "192.0.2.2", "--ctl",
                          str(tmp_path / "bridge.sock")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    vm = None
    try:
        Lines(bridge).text("barenet: bridge: board 192.0.2.2 on udp:")
        vm, log = firmware(tmp_path, {"driver": "udp_tunnel", "ip": True, "host": "127.0.0.1",
                                      "port": port},
                           net={"mode": "static", "address": "192.0.2.2/24",
                                "gateway": "192.0.2.1"}, popen=netns.popen)
        log.text("up: barenet firmware")
        reaches(netns, "192.0.2.2", echo=False)
    finally:
        if vm is not None:
            stop(vm)
        stop(bridge)


@pytest.mark.timeout(300)
def test_firmware_moves_to_the_new_address_dnsmasq_gives_on_renew(tunnel_board, tmp_path):
    """A lease change: dnsmasq is restarted with another pool and nothing of the old lease, so
    the renewal at T1 (5 s, option 58) is NAKed (dnsmasq is authoritative), and the board takes
    an address from the new pool; its apps, bound to any address, answer there."""
    b = tunnel_board
    opts = ("--dhcp-authoritative", "--dhcp-option=option:T1,5", "--dhcp-option=option:T2,8")
    b.dnsmasq("192.0.2.50,192.0.2.60", "leases", *opts)
    log = b.boot()
    old, _ = b.bound("192.0.2.5")
    reaches(b.ns, old, echo=False)
    b.dnsmasq("192.0.2.70,192.0.2.80", "leases2", *opts)
    log.text("DHCP: 192.0.2.1 refused %s (NAK)" % old, timeout_s=60)
    new, _ = b.bound("192.0.2.7")
    log.text("address %s/24" % new)
    reaches(b.ns, new)
    assert new in (tmp_path / "leases2").read_text()


@pytest.mark.timeout(300)
def test_firmware_refuses_a_dnsmasq_offering_a_32_mask_and_says_so(tunnel_board):
    """A server's nonsense (here dnsmasq told to send the mask 255.255.255.255) is refused by
    the core's DHCP client (dhcp.py, tests/unit/test_dhcp.py) and said on the board's log; the
    board stays unaddressed rather than take a /32."""
    b = tunnel_board
    b.dnsmasq("192.0.2.50,192.0.2.60", "leases", "--dhcp-option=option:netmask,255.255.255.255")
    log = b.boot()
    # dnsmasq puts its netmask option in the ACK only, not the offer
    log.text("DHCP: refused the ack of 192.0.2.1: a subnet mask of /32", timeout_s=60)
    assert not any("DHCP: bound" in x or "address 192" in x for x in log.seen), log.seen
