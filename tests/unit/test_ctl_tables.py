"""`barenet ctl` tables (ctltables.py): what each command answers from a stack on the virtual
wire, in its documented schema, and how it prints when the output is a pipe."""

import io
import json

import pytest

from barenet_host import ctltables
from barenet_host.vwire import Sim


def world():
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", gateway="192.0.2.1")
    ip_wire = sim.wire(link="ip")
    b.add_interface(ip_wire.nic(), ip="198.51.100.2/24", now_ms=sim.now)
    lst = a.tcp.listen(7)
    conn = b.tcp.connect("192.0.2.1", 7)
    sim.run(until=lambda: lst.queue, max_ms=2000)
    conn.send(b"x" * 10)
    return sim, b, conn


def printed(command, reply):
    out = io.StringIO()
    ctltables.render(command, reply, out)
    return out.getvalue()


def test_every_table_answers_in_its_schema_as_json():
    sim, b, _ = world()
    cmds = ctltables.stack_commands(b, lambda: sim.now)
    assert sorted(cmds) == ["arp", "conns", "ifaces", "routes"]
    replies = dict((k, json.loads(json.dumps(fn()))) for k, fn in cmds.items())
    (c,) = replies["conns"]["conns"]
    assert c["local"].startswith("192.0.2.2:") and c["remote"] == "192.0.2.1:7"
    assert c["state"] == "ESTABLISHED" and c["send_queue"] == 10
    assert {"cwnd", "srtt_ms", "rto_ms", "retransmits", "recv_queue"} <= set(c)
    (n,) = replies["arp"]["arp"]
    assert n["iface"] == "eth0" and n["ip"] == "192.0.2.1" and n["mac"] == "02:00:00:00:00:01"
    assert n["state"] == "REACHABLE" and n["age_ms"] >= 0 and n["queued_bytes"] == 0
    assert replies["routes"]["routes"] == [
        {"dest": "127.0.0.0/8", "gateway": None, "iface": "lo", "src": "127.0.0.1"},
        {"dest": "192.0.2.2/32", "gateway": None, "iface": "lo", "src": "192.0.2.2"},
        {"dest": "198.51.100.2/32", "gateway": None, "iface": "lo", "src": "198.51.100.2"},
        {"dest": "192.0.2.0/24", "gateway": None, "iface": "eth0", "src": "192.0.2.2"},
        {"dest": "198.51.100.0/24", "gateway": None, "iface": "ip1", "src": "198.51.100.2"},
        {"dest": "0.0.0.0/0", "gateway": "192.0.2.1", "iface": "eth0", "src": "192.0.2.2"}]
    eth, ip = replies["ifaces"]["ifaces"]
    assert (eth["name"], eth["link"], eth["mac"], eth["ip"], eth["gateway"], eth["mtu"]) == \
        ("eth0", "ethernet", "02:00:00:00:00:02", "192.0.2.2/24", "192.0.2.1", 1500)
    assert eth["up"] and eth["running"] and eth["stats"]["rx"] >= 2
    assert (ip["link"], ip["mac"], ip["ip"]) == ("ip", None, "198.51.100.2/24")


def test_an_address_being_resolved_is_incomplete_with_its_queued_bytes():
    sim, b, _ = world()
    ep = b.udp.bind(5000)
    ep.sendto(b"q" * 100, ("192.0.2.77", 9))
    sim.advance(1)
    rows = ctltables.arp(b, sim.now)["arp"]
    (r,) = [r for r in rows if r["ip"] == "192.0.2.77"]
    assert r["mac"] is None and r["state"] == "INCOMPLETE" and r["queued_bytes"] >= 128
    line = [x for x in printed("arp", {"arp": rows}).splitlines() if "192.0.2.77" in x][0]
    assert line.split() == ["eth0", "192.0.2.77", "(incomplete)", "INCOMPLETE", "1", "128"]


def test_tables_print_as_plain_aligned_text_on_a_pipe():
    sim, b, _ = world()
    text = printed("routes", ctltables.routes(b))
    lines = text.splitlines()
    assert lines[0] == "routes:" and lines[1].split() == ["destination", "gateway", "iface",
                                                          "source"]
    assert lines[-1].split() == ["0.0.0.0/0", "192.0.2.1", "eth0", "192.0.2.2"]
    assert all(line == line.rstrip() for line in lines) and "\x1b" not in text
    text = printed("ifaces", ctltables.ifaces(b))
    assert text.splitlines()[2].split()[:7] == ["eth0", "ethernet", "02:00:00:00:00:02",
                                                "192.0.2.2/24", "192.0.2.1", "1500", "running"]
    conns = printed("conns", ctltables.conns(b)).splitlines()
    assert conns[1].split()[:5] == ["local", "remote", "state", "send-q", "recv-q"]
    assert conns[2].split()[1:4] == ["192.0.2.1:7", "ESTABLISHED", "10"]


def test_the_nat_table_prints_a_bridges_flows():
    # the shape of nat/gateway.py's info(), what `barenet bridge --nat` answers
    reply = {"nat": {"board": "10.0.2.15", "allow": "any destination", "forwards": []},
             "table": {"used": 2, "limit": 1024, "tcp": 1, "udp": 1, "icmp": 0,
                       "buffered": 512},
             "stats": {"tcp_out": 1},
             "flows": [{"proto": "tcp", "dir": "out", "board": "10.0.2.15:40000",
                        "remote": "198.51.100.10:80", "state": "ESTABLISHED",
                        "bytes_up": 120, "bytes_down": 5120, "buffered": 512,
                        "idle_ms": 120, "timeout_ms": 7440000},
                       {"proto": "udp", "dir": "out", "board": "10.0.2.15:5353",
                        "remote": "198.51.100.1:53", "state": "open", "bytes_up": 40,
                        "bytes_down": 80, "buffered": 0, "idle_ms": 7, "timeout_ms": 120000}]}
    lines = printed("nat", reply).splitlines()
    assert lines[0] == "NAT table: 2 of 1024 flows (tcp 1, udp 1, icmp 0), 512 bytes buffered"
    assert lines[1] == "NAT flows:"
    assert lines[2].split() == ["proto", "dir", "board", "remote", "state", "idle", "ms", "up",
                                "down", "buffered"]
    assert lines[3].split() == ["tcp", "out", "10.0.2.15:40000", "198.51.100.10:80",
                                "ESTABLISHED", "120", "120", "5120", "512"]
    reply["flows"] = []
    assert printed("nat", reply).splitlines()[1] == "NAT flows: none"


def test_a_bridges_interface_rows_print_with_what_they_have():
    reply = {"ifaces": [{"side": "board", "device": "pty", "link": "ip", "mtu": 1006,
                         "stats": {"rx": 3, "tx": 4}, "address": "10.0.2.2/24"}]}
    lines = printed("ifaces", reply).splitlines()
    assert lines[2].split() == ["board", "pty", "ip", "-", "10.0.2.2/24", "-", "1006", "-",
                                "3", "4"]


def test_a_reply_without_its_table_is_an_error():
    with pytest.raises(ValueError):
        printed("arp", {"stats": {}})


def test_stats_name_who_answers():
    limits = {"tcp_connections": {"limit": 4096, "used": 1}}
    served = printed("stats", {"serve": {"pid": 7, "ip": "192.0.2.2/24"},
                               "stats": {"ip": {"rx": 3}}, "limits": limits}).splitlines()
    assert served[0] == "barenet serve: ip 192.0.2.2/24, pid 7" and served[1] == "counters"
    assert served[2].split() == ["ip.rx", "3"] and served[4].split() == [
        "tcp_connections", "1", "4096", "0%"]
    bridged = printed("stats", {"bridge": {"mode": "nat", "pid": 8}, "stats": {},
                                "limits": {}}).splitlines()
    assert bridged[0] == "barenet bridge: mode nat, pid 8"
