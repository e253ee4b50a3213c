"""The NAT's parts on their own (barenet_host/nat): forward specs, the allow-list, the table's
bound and idle timeouts on a virtual clock across the ticks wrap, and `barenet bridge`'s
one-line usage errors (none reaches a device)."""

import io
import socket

import pytest

from barenet import ticks
from barenet.addr import ip_aton

from barenet_host import cli
from barenet_host.nat import forward
from barenet_host.nat.allow import AllowList
from barenet_host.nat.table import NATTable, TIMEOUTS

T0 = ticks.PERIOD - 1500   # just before the tick counter wraps


def test_forward_specs_parse_or_say_why_in_one_line():
    f = forward.parse("tcp:127.0.0.1:8080=80")
    assert (f.proto, f.addr, f.port, f.board_port) == ("tcp", "127.0.0.1", 8080, 80)
    f = forward.parse("tcp:2222=22")
    assert (f.addr, f.port, f.board_port) == ("127.0.0.1", 2222, 22)
    f = forward.parse("udp:5353=53")
    assert (f.proto, f.addr, f.port, f.board_port) == ("udp", "127.0.0.1", 5353, 53)
    for bad, why in (("sctp:127.0.0.1:53=53", "expected tcp:"), ("tcp:8080", "board port"),
                     ("tcp:127.0.0.1:0=80", "host port"), ("tcp:127.0.0.1:80=70000", "board port"),
                     ("tcp:1.2.3:80=80", "not an IPv4"), ("8080=80", "expected tcp:")):
        with pytest.raises(ValueError) as e:
            forward.parse(bad)
        assert why in str(e.value) and "\n" not in str(e.value)


def test_allow_list_matches_networks_and_is_open_when_empty():
    a = AllowList([(ip_aton("198.51.100.0"), 24), (ip_aton("203.0.113.7"), 32)])
    assert a.allows(ip_aton("198.51.100.200")) and a.allows(ip_aton("203.0.113.7"))
    assert not a.allows(ip_aton("203.0.113.8")) and not a.allows(ip_aton("192.0.2.1"))
    assert a.describe() == "198.51.100.0/24, 203.0.113.7/32"
    assert AllowList().allows(ip_aton("8.8.8.8")) and AllowList().describe() == "any destination"


class Flow:
    def __init__(self, key, kind, now):
        self.key, self._kind, self.last, self.closed = key, kind, now, None

    def kind(self):
        return self._kind

    def close(self, why):
        self.closed = why

    def row(self):
        return {"proto": self.key[0], "board": str(self.key[1]), "remote": "x"}


def test_defaults_are_the_rfcs():
    assert TIMEOUTS["udp"] >= 120000          # RFC 4787 REQ-5
    assert TIMEOUTS["tcp"] >= 7440000         # RFC 5382 REQ-5
    assert TIMEOUTS["tcp_transitory"] >= 240000
    assert TIMEOUTS["icmp"] >= 60000          # RFC 5508 REQ-1


def test_the_table_is_bounded_and_expires_each_kind_after_its_idle_timeout_across_the_wrap():
    t = NATTable(3, {"udp": 2000, "icmp": 1000})
    flows = [Flow(("udp", 1), "udp", T0), Flow(("icmp", 2), "icmp", T0),
             Flow(("tcp", 3), "tcp", T0)]
    for f in flows:
        assert t.room()
        t.add(f)
    assert not t.room() and t.stats["refused_full"] == 1
    now = ticks.add(T0, 1200)                 # past the wrap
    assert t.expire(now) == 1000
    assert flows[1].closed == "expired" and list(t.flows) == [("udp", 1), ("tcp", 3)]
    flows[0].last = ticks.add(T0, 1000)       # traffic keeps a flow alive
    t.expire(ticks.add(T0, 2300))
    assert flows[0].closed is None
    t.expire(ticks.add(T0, 3400))
    assert flows[0].closed == "expired" and flows[2].closed is None
    assert t.stats["expired"] == 2 and t.room()


def run(argv):
    err = io.StringIO()
    code = cli.main(argv, out=io.StringIO(), err=err)
    return code, err.getvalue()


@pytest.mark.parametrize("argv,why", [
    (["--board", "tap:bn0", "--nat"], "must be serial, pty, unix or udp"),
    (["--board", "udp:5555", "--nat"], "carries Ethernet frames"),
    (["--board", "udp:5555,ip"], "choose one mode"),
    (["--board", "udp:5555,ip", "--nat", "--tun", "bn0"], "choose one mode"),
    (["--board", "udp:5555,ip", "--tun", "bn0", "--local", "192.0.2.1"], "needs --tun, --local"),
    (["--board", "udp:5555,ip", "--tun", "bn0", "--local", "192.0.2.1", "--peer",
      "192.0.2.1"], "must differ"),
    (["--board", "udp:5555,ip", "--tun", "bn0", "--local", "192.0.2.1", "--peer", "192.0.2.2",
      "--forward", "tcp:8080=80"], "go with --nat"),
    (["--board", "udp:5555,ip", "--nat", "--forward", "tcp:8080"], "board port"),
    (["--board", "udp:5555,ip", "--nat", "--forward", "tcp:8080=80", "--forward",
      "tcp:127.0.0.1:8080=81"], "forwarded twice"),
    (["--board", "udp:5555,ip", "--nat", "--nat-allow", "198.51.100.0"], "invalid network"),
    (["--board", "udp:5555,ip", "--nat", "--net", "192.0.2.0/29"], "too small"),
    (["--board", "udp:5555,ip", "--nat", "--nat-max", "0"], "nat-max must be"),
    (["--board", "udp:5555,ip", "--nat", "--nat-timeout", "tcp=x"], "invalid timeout"),
    (["--board", "udp:5555,ip", "--nat", "--nat-timeout", "sctp=5"], "invalid timeout"),
    (["--board", "udp:5555,ip", "--nat", "--dns", "nowhere"], "invalid DNS server"),
])
def test_bridge_usage_errors_are_one_line_and_status_2(argv, why):
    code, err = run(["bridge"] + argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("barenet: error: ") \
        and why in err, err


def test_a_busy_forward_port_is_one_line(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    free.bind(("127.0.0.1", 0))
    board = free.getsockname()[1]
    free.close()
    try:
        code, err = run(["bridge", "--board", "udp:127.0.0.1:%d,ip" % board, "--nat", "--dns",
                         "127.0.0.1", "--ctl", str(tmp_path / "c.sock"), "--forward",
                         "tcp:127.0.0.1:%d=80" % port])
    finally:
        busy.close()
    assert code == 2 and err == "barenet: error: forward tcp:127.0.0.1:%d=80: cannot listen " \
        "on 127.0.0.1:%d: Address already in use\n" % (port, port)
