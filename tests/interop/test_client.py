"""`barenet client` and `barenet ctl` against a running `barenet serve` (root: a TAP in a
namespace). The client runs inside the namespace on the kernel's sockets as the user nobody
(the acceptance's "client without root"), every subcommand's output checked, --json schemas
included; errors are one line with exit status 1 (runtime) or 2 (usage)."""

import hashlib
import json
import os
import signal
import subprocess

import pytest

from barenet_host.ctl import default_path
from conftest import BARENET_CIDR, BARENET_IP, KERNEL_IP, STARTUP_TIMEOUT_S, _barenet_cmd, \
    readline
from unprivileged import barenet_as_nobody

pytestmark = pytest.mark.root

APPS = "echo,discard,chargen,http,discovery"
TIMEOUT = 60


@pytest.fixture(scope="module")
def nobody_python():
    with barenet_as_nobody() as found:
        yield found


@pytest.fixture
def client(netns, nobody_python):
    """client(*args, input=None) -> CompletedProcess of `barenet client ARGS` as nobody in
    the namespace, where unprivileged ICMP sockets are allowed for everyone."""
    netns.sysctl("net.ipv4.ping_group_range", "0 2147483647")
    argv, cwd = nobody_python

    def run(*args, input=None, timeout=TIMEOUT):
        return netns.run(argv + ["client"] + [str(a) for a in args], cwd=cwd, input=input,
                         timeout=timeout)
    run.cwd = cwd    # a directory nobody can read
    return run


def ctl(*args):
    return subprocess.run(_barenet_cmd() + ["ctl"] + list(args), capture_output=True,
                          text=True, timeout=20)


def one_line_error(r, status, text):
    assert (r.returncode, r.stdout) == (status, ""), (r.stdout, r.stderr)
    assert r.stderr.startswith("barenet: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert text in r.stderr, r.stderr


def test_discover_lists_the_serve_with_its_facts(serve, client):
    serve("--apps", APPS)
    r = client("discover", "--json")
    assert r.returncode == 0, r.stderr
    (dev,) = json.loads(r.stdout)
    assert dev == {"name": "barenet", "mac": "02:00:c0:00:02:02", "ip": BARENET_CIDR,
                   "board": "host", "firmware": dev["firmware"], "uptime_s": dev["uptime_s"],
                   "from": BARENET_IP}
    import barenet
    assert dev["firmware"] == barenet.__version__ and 0 <= dev["uptime_s"] < 60
    table = client("discover").stdout.splitlines()
    assert table[0] == "devices:"
    assert table[1].split() == ["name", "mac", "ip", "board", "firmware", "uptime", "mdns"]
    assert table[2].split()[:5] == ["barenet", "02:00:c0:00:02:02", BARENET_CIDR, "host",
                                    barenet.__version__]


def test_discover_finds_two_serves(serve, netns, client):
    serve("--apps", "discovery")
    second = netns.popen(_second_serve(netns, "--apps", "discovery"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert readline(second.stdout, STARTUP_TIMEOUT_S).startswith("barenet: serving")
        r = client("discover", "--json", "--wait", "1.5")
        assert r.returncode == 0, r.stderr
        found = [(d["ip"], d["mac"]) for d in json.loads(r.stdout)]
        assert found == [(BARENET_CIDR, "02:00:c0:00:02:02"),
                         ("198.51.100.2/24", "02:00:c6:33:64:02")]
        only = client("discover", "--json", "--to", "198.51.100.2")
        assert [d["ip"] for d in json.loads(only.stdout)] == ["198.51.100.2/24"]
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=10)


def _second_serve(netns, *args):
    """A second TAP in the namespace, on 198.51.100.0/24: serve's argv on it."""
    from barenet_host.netns import unique_name
    tap = unique_name("d")
    netns.tuntap_add(tap)
    netns.addr(tap, "198.51.100.1/24")
    netns.up(tap)
    return _barenet_cmd() + ["serve", "--tap", tap, "--ip", "198.51.100.2/24"] + list(args)


def test_discover_with_nobody_answering_is_one_line(serve, client):
    serve("--apps", "echo")
    one_line_error(client("discover", "--wait", "0.3"), 1, "no device answered within 0.3 s")


def test_ping_get_echo_send_bench_stats(serve, client):
    serve("--apps", APPS)
    r = client("ping", "-c", "3", "-i", "0.2", BARENET_IP)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "PING %s: 56 data bytes" % BARENET_IP
    assert [ln.split()[:5] for ln in lines[1:4]] == [
        ["64", "bytes", "from", BARENET_IP + ":", "icmp_seq=%d" % i] for i in (1, 2, 3)]
    assert "3 packets transmitted, 3 received, 0% packet loss" in r.stdout

    page = client("get", BARENET_IP)
    assert page.returncode == 0 and "<h1>barenet status</h1>" in page.stdout, page.stderr
    js = client("get", BARENET_IP + "/?format=json")
    assert js.returncode == 0 and json.loads(js.stdout)["interfaces"][0]["ip"] == BARENET_CIDR
    missing = client("get", BARENET_IP + ":80/nothing")
    assert missing.returncode == 1 and missing.stdout == "not found\n"
    assert missing.stderr == "barenet: error: GET http://%s:80/nothing: 404 Not Found\n" \
        % BARENET_IP

    text = "hello\nbarenet over TCP\n" * 1000
    e = client("echo", BARENET_IP, input=text)
    assert (e.returncode, e.stdout) == (0, text), e.stderr

    data = os.urandom(1 << 20)
    f = os.path.join(client.cwd, "blob%d" % os.getpid())
    with open(f, "wb") as w:
        w.write(data)
    os.chmod(f, 0o644)
    s = client("send", str(f), BARENET_IP)
    assert s.returncode == 0, s.stderr
    assert ("sent %s: %d bytes, echoed back by %s:7" % (f, len(data), BARENET_IP)) in s.stdout
    assert s.stdout.rstrip().endswith("sha256 %s matches" % hashlib.sha256(data).hexdigest())
    assert "send: " in s.stderr and "of %d bytes" % len(data) in s.stderr   # plain progress

    b = client("bench", BARENET_IP, "--bytes", 1 << 20, "--json")
    assert b.returncode == 0, b.stderr
    fig = json.loads(b.stdout)
    for way in ("upload", "download"):
        assert set(fig[way]) == {"bytes", "seconds", "mb_s"} and fig[way]["bytes"] == 1 << 20
        assert fig[way]["mb_s"] > 0 and fig[way]["seconds"] > 0
    assert "of 1048576 bytes" in b.stderr
    bt = client("bench", BARENET_IP, "--bytes", 100000)
    assert bt.returncode == 0, bt.stderr
    rows = [ln.split() for ln in bt.stdout.splitlines()]
    assert [r[:3] for r in rows] == [["to", BARENET_IP, "(discard)"],
                                     ["from", BARENET_IP, "(chargen)"]]
    assert all(r[3] == "100000" and r[-1] == "MB/s" for r in rows)

    st = client("stats", BARENET_IP, "--json")
    assert st.returncode == 0, st.stderr
    reply = json.loads(st.stdout)
    assert reply["stats"]["app_discard9"]["accepted"] == 2
    assert reply["stats"]["app_echo7"]["accepted"] == 2 and "tcp_connections" in reply["limits"]
    t = client("stats", BARENET_IP)
    assert t.returncode == 0 and t.stdout.startswith("counters\n")
    assert "app_chargen19.accepted" in t.stdout and "tcp_connections" in t.stdout


def test_errors_are_one_line(serve, client, netns):
    serve("--apps", "http")
    one_line_error(client("get", "192.0.2.99", "--timeout", "1"), 1,
                   "cannot connect to 192.0.2.99:80: ")
    one_line_error(client("echo", BARENET_IP, input="x"), 1,
                   "cannot connect to %s:7: Connection refused" % BARENET_IP)
    lost = client("ping", "-c", "1", "--timeout", "0.5", "192.0.2.99")
    assert lost.returncode == 1 and "1 packets transmitted, 0 received, 100% packet loss" in \
        lost.stdout and lost.stderr == "barenet: error: no reply from 192.0.2.99\n"
    one_line_error(client("stats", BARENET_IP + ":7"), 1, "cannot connect to %s:7" % BARENET_IP)
    one_line_error(client("send", "/nonexistent", BARENET_IP), 2,
                   "cannot read /nonexistent: No such file or directory")
    one_line_error(client("ping", "nohost"), 2, "invalid host 'nohost'")
    one_line_error(client("get", BARENET_IP + ":99999/"), 2, "invalid port")
    one_line_error(client("--via", "serial:", "ping", BARENET_IP), 2, "argument --via:")
    one_line_error(client("--ip", "192.0.2.7/24", "ping", BARENET_IP), 2,
                   "--ip and --gateway go with --via")
    one_line_error(client("bench", BARENET_IP, "--bytes", "0"), 2, "bytes must be an integer")
    one_line_error(client(), 2, "client needs a subcommand")
    # the kernel lets nobody open no ICMP socket: the message names the sysctl to change
    netns.sysctl("net.ipv4.ping_group_range", "1 0")
    one_line_error(client("ping", "-c", "1", BARENET_IP), 1,
                   "outside net.ipv4.ping_group_range (now 1 0; ")


def test_help_on_every_client_subcommand(client):
    for sub in ([], ["discover"], ["ping"], ["get"], ["echo"], ["send"], ["bench"], ["stats"]):
        r = client(*(sub + ["--help"]))
        assert r.returncode == 0 and r.stdout.startswith("usage: barenet client"), r.stderr
        assert "--via DEVICE-SPEC" in r.stdout


def test_ctl_tables_of_a_running_serve(serve, netns):
    s = serve("--apps", APPS, "--gateway", KERNEL_IP)
    path = default_path(s.tap)
    # a kernel client holds an echo connection open while ctl looks
    holder = netns.popen(["python3", "-c", "import socket, sys, time\n"
                          "s = socket.create_connection(('%s', 7), timeout=5)\n"
                          "print(s.getsockname()[1], flush=True)\n"
                          "sys.stdin.read()\n" % BARENET_IP],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(readline(holder.stdout, 10))
        replies = {}
        for what in ("conns", "arp", "routes", "ifaces"):
            r = ctl(what, "--socket", path, "--json")
            assert r.returncode == 0, r.stderr
            replies[what] = json.loads(r.stdout)
        (c,) = replies["conns"]["conns"]
        assert (c["local"], c["remote"], c["state"]) == \
            (BARENET_IP + ":7", "%s:%d" % (KERNEL_IP, port), "ESTABLISHED")
        kernel_mac = netns.run(["cat", "/sys/class/net/%s/address" % s.tap]).stdout.strip()
        (n,) = replies["arp"]["arp"]
        assert (n["iface"], n["ip"], n["mac"]) == ("eth0", KERNEL_IP, kernel_mac)
        assert n["state"] in ("REACHABLE", "STALE", "DELAY", "PROBE")
        assert {"dest": "0.0.0.0/0", "gateway": KERNEL_IP, "iface": "eth0",
                "src": BARENET_IP} in replies["routes"]["routes"]
        (i,) = replies["ifaces"]["ifaces"]
        assert (i["name"], i["link"], i["mac"], i["ip"], i["mtu"], i["running"]) == \
            ("eth0", "ethernet", "02:00:c0:00:02:02", BARENET_CIDR, 1500, True)
        text = ctl("conns", "--tap", s.tap)
        assert text.returncode == 0 and text.stdout.splitlines()[0] == "TCP connections:"
        assert text.stdout.splitlines()[2].split()[:3] == [BARENET_IP + ":7", "%s:%d" % (
            KERNEL_IP, port), "ESTABLISHED"]
        assert ctl("arp", "--ctl", path).stdout.splitlines()[2].split()[:3] == \
            ["eth0", KERNEL_IP, kernel_mac]
        for what, first in (("routes", "routes:"), ("ifaces", "interfaces:"),
                            ("arp", "ARP cache:")):
            t = ctl(what, "--socket", path)
            assert t.returncode == 0 and t.stdout.splitlines()[0] == first, t.stderr
    finally:
        holder.communicate("", timeout=10)
    # serve has no NAT: the command is known to ctl, not to this server
    one_line_error(ctl("nat", "--socket", path), 1, "unknown command 'nat' (known: arp, conns, "
                   "ifaces, routes, stats)")


def test_ctl_errors_are_one_line(tmp_path):
    missing = str(tmp_path / "none.sock")
    one_line_error(ctl("arp", "--socket", missing), 1, "no barenet serve answers on " + missing)
    one_line_error(ctl("reboot", "--socket", missing), 2, "argument COMMAND: invalid choice")
    f = tmp_path / "plain"
    f.write_text("not a socket")
    one_line_error(ctl("routes", "--socket", str(f)), 1, "no barenet serve answers on ")
    for what in ("stats", "conns", "arp", "routes", "nat", "ifaces"):
        r = subprocess.run(_barenet_cmd() + ["ctl", what, "--help"], capture_output=True,
                           text=True, timeout=20)
        assert r.returncode == 0 and "usage: barenet ctl" in r.stdout


def test_client_discover_finds_a_board_by_mdns_too(serve, netns, client):
    """A board with only mDNS (no discovery app) is listed from its DNS-SD answer; one with
    both is one row, its mDNS name added."""
    s = serve("--apps", "http", "--mdns", "onlymdns")
    # probed and announced (RFC 6762 8): only then does it answer for the name
    assert "mDNS: onlymdns.local is 192.0.2.2" in readline(s.proc.stdout, 10)
    r = client("discover", "--json", "--wait", "1.5")
    assert r.returncode == 0, r.stderr
    (dev,) = json.loads(r.stdout)
    assert dev == {"name": "onlymdns", "mac": None, "ip": "192.0.2.2", "board": "host",
                   "firmware": dev["firmware"], "uptime_s": None, "from": "192.0.2.2",
                   "mdns": "onlymdns.local"}
    table = client("discover", "--wait", "1.5").stdout.splitlines()
    assert table[2].split()[:4] == ["onlymdns", "-", "192.0.2.2", "host"], table
