"""`barenet bridge --nat` (issue 10 item 5) as a non-root user (nobody, through setpriv) in a
namespace that holds only test hosts: the far host 198.51.100.10 (on its loopback) with a
kernel HTTP server and TCP/UDP echo. A barenet board on the bridge's UDP tunnel fetches a page
through the NAT, pings, sends 1 MB both ways, is refused where the allow-list says no (and
hears of a refused port and of an unreachable host as the kernel told the bridge), keeps
200 UDP flows at once (tracked, then expired); kernel curl reaches its status page through a
--forward. The NAT table is read with `barenet ctl nat`.
"""

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from procs import Lines, stop
from unprivileged import barenet_as_nobody

HERE = os.path.dirname(os.path.abspath(__file__))
BARENET = os.path.join(os.path.dirname(sys.executable), "barenet")
FAR = "198.51.100.10"
BLOB = hashlib.sha256(b"far page").digest() * 2048      # 64 KB
TUNNEL_PORT = 5555                                       # the namespace's own loopback


@pytest.fixture
def nat(netns, tmp_path):
    with barenet_as_nobody() as (argv, cwd):
        ns = netns
        # The far host is the namespace's kernel itself: its address on the namespace's loopback
        # (no dummy devices needed)
        ns.up("lo")
        ns.addr("lo", FAR + "/32")
        # Linux ping sockets for every group, in this namespace only (the sysctl is per netns)
        ns.sysctl("net.ipv4.ping_group_range", "0 2147483647")
        www = tmp_path / "www"
        www.mkdir()
        (www / "blob").write_bytes(BLOB)
        # nobody's own directory for the control socket (pytest's tmp_path is root's, 0700)
        ctl = tempfile.mkdtemp(prefix="bn-nat-")
        os.chmod(ctl, 0o755)
        os.chown(ctl, 65534, 65534)
        procs = []
        try:
            far = ns.popen([sys.executable, os.path.join(HERE, "nat_far.py"), FAR],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(far)
            assert far.stdout.readline().strip() == "ready"
            http = ns.popen([sys.executable, "-m", "http.server", "--bind", FAR, "8000",
                             "--directory", str(www)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
            procs.append(http)
            # The namespace's name server: a dnsmasq test instance that knows one name
            dnsmasq = ns.popen(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                                "--no-resolv", "--no-hosts", "--bind-interfaces",
                                "--listen-address=" + FAR, "--port=53", "--user=root",
                                "--pid-file=" + os.path.join(ctl, "dnsmasq.pid"),
                                "--address=/far.test/" + FAR],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            procs.append(dnsmasq)
            path = os.path.join(ctl, "nat.sock")
            bridge = ns.popen(argv + [
                "bridge", "--board", "udp:127.0.0.1:%d,ip" % TUNNEL_PORT, "--nat",
                "--nat-allow", "198.51.100.0/24", "--forward", "tcp:127.0.0.1:8080=80",
                "--nat-timeout", "udp=3000", "--dns", FAR, "--ctl", path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
            procs.append(bridge)
            first = bridge.stdout.readline()
            assert first.startswith("barenet: bridge: NAT for the board 192.0.2.15"), \
                first + bridge.stderr.read()
            for _ in range(50):       # the HTTP server is up when it answers
                if ns.run(["curl", "-s", "-o", "/dev/null", "-m", "2",
                           "http://%s:8000/blob" % FAR]).returncode == 0:
                    break
                time.sleep(0.1)

            def board(*steps):
                p = ns.popen([sys.executable, os.path.join(HERE, "nat_board.py"),
                              str(TUNNEL_PORT), FAR] + list(steps),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                procs.append(p)
                return Lines(p)

            def ctl(what="nat", as_json=True):
                r = ns.run([BARENET, "ctl", what, "--ctl", path] + ["--json"] * as_json,
                           check=True)
                return json.loads(r.stdout) if as_json else r.stdout

            yield ns, bridge, board, ctl
        finally:
            for p in reversed(procs):
                stop(p)
            shutil.rmtree(ctl, ignore_errors=True)


def test_board_fetches_pings_echoes_and_is_reached_through_a_forward(nat):
    ns, bridge, board, ctl = nat
    # The bridge runs as nobody
    with open("/proc/%d/status" % bridge.pid) as f:
        uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
    assert uids == ["65534"] * 4
    b = board("resolve:far.test", "fetch:8000:/blob", "ping:3", "echo:1048576:7",
              "connect:203.0.113.5:80", "connect:%s:9" % FAR, "connect:198.51.100.99:80",
              "udperr:%s:9999" % FAR, "udperr:198.51.100.77:9999")
    got = b.json("dhcp")
    assert got == {"dhcp": "192.0.2.15/24", "router": "192.0.2.1"}
    assert b.json("resolve")["resolve"] == FAR        # dnsmasq's answer, forwarded
    got = b.json("fetch")
    assert got["status"].startswith("HTTP/1.0 200") and \
        got["fetch"] == hashlib.sha256(BLOB).hexdigest()
    assert b.json("ping")["ping"] == 3
    e = b.json("echo")
    assert e["length"] == 1048576 and e["echo"] == e["want"]
    # Not allowed: a RST (ECONNREFUSED); refused by the far host: a RST too; no route to
    # the host from the bridge's namespace: ICMP network unreachable (ENETUNREACH)
    assert [b.json("connect")["connect"] for _ in range(3)] == \
        [errno.ECONNREFUSED, errno.ECONNREFUSED, errno.ENETUNREACH]
    # ICMP errors about a UDP flow reach the board as the host met them (RFC 5508 4): the far
    # host's port unreachable, and no route from the bridge's namespace (network unreachable)
    assert [b.json("udp_error")["udp_error"] for _ in range(2)] == \
        [errno.ECONNREFUSED, errno.ENETUNREACH]
    b.json("ready")
    r = ns.run(["curl", "-s", "-m", "10", "http://127.0.0.1:8080/?format=json"])
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout)
    assert "tcp" in json.dumps(page)
    info = ctl()
    assert info["stats"]["tcp_out"] >= 2 and info["stats"]["tcp_in"] == 1
    assert info["stats"]["denied_tcp"] == 1 and info["stats"]["icmp_out"] == 1
    assert info["stats"]["tcp_refused"] == 1 and info["stats"]["tcp_unreachable"] == 1
    assert info["nat"]["allow"] == "198.51.100.0/24"
    table = ctl("nat", as_json=False)
    assert table.startswith("NAT table: ") and "192.0.2.15" in table
    stats = ctl("stats")["stats"]
    assert stats["dhcp"]["ack"] == 1 and stats["dns"]["answered"] >= 1
    # the gateway's own stack, as serve's: its one route, and no ARP on a SLIP link
    routes = ctl("routes")["routes"]
    assert {"dest": "192.0.2.0/24", "gateway": None, "iface": "ip0", "src": "192.0.2.1"} in routes
    assert "192.0.2.0/24  -        ip0" in ctl("routes", as_json=False)
    assert ctl("arp") == {"arp": []} and ctl("conns") == {"conns": []}   # every flow has ended


def test_200_concurrent_udp_flows_are_tracked_then_expire(nat):
    ns, bridge, board, ctl = nat
    b = board("udp:200:7")
    assert b.json("udp")["udp"] == 200
    info = ctl()
    assert info["table"]["udp"] == 200, info["table"]
    rows = [r for r in info["flows"] if r["proto"] == "udp"]
    assert len(rows) == 200 and all(r["remote"] == FAR + ":7" for r in rows)
    end = time.monotonic() + 30
    while time.monotonic() < end and ctl()["table"]["udp"]:
        time.sleep(0.5)
    info = ctl()
    assert info["table"]["udp"] == 0 and info["stats"]["expired"] >= 200
