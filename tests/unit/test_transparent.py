"""A transparent stack (IP.transparent and the transports' catch_all hooks): what a NAT gateway
(barenet_host/nat) stands on. A board on an ip link sends to addresses beyond the gateway;
the gateway's hooks see those SYNs, datagrams and echo requests, and its answers leave from
the original destination, so the board sees the far host answer.
"""

import errno

from barenet.addr import ip_ntoa
from barenet.tcp import Listener
from barenet.wire import icmp as icmpw

from barenet_host.vwire import Sim

GW, BOARD, FAR = "192.0.2.1", "192.0.2.15", "198.51.100.10"


def pair(transparent=True):
    sim = Sim()
    wire = sim.wire(link="ip")
    gw, _ = sim.host(wire, None, GW + "/24", seed=1)
    board, _ = sim.host(wire, None, BOARD + "/24", gateway=GW, seed=2)
    gw.ip.transparent = transparent
    return sim, gw, board


def fail(why):
    raise AssertionError(why)


def test_without_transparency_datagrams_for_others_are_dropped():
    sim, gw, board = pair(transparent=False)
    seen = []
    gw.udp.catch_all = lambda *a: seen.append(a)
    board.udp.bind(4000).sendto(b"x", (FAR, 53))
    sim.run(max_ms=50)
    assert seen == [] and gw.stats["ip"]["drop_not_ours"] == 1


def test_udp_to_any_address_reaches_the_hook_and_the_reply_comes_from_it():
    sim, gw, board = pair()
    seen = []

    def hook(h, sport, dport, data, now):
        seen.append((ip_ntoa(h.src), sport, ip_ntoa(h.dst), dport, bytes(data)))
        gw.udp.output(h.dst, dport, h.src, sport, b"answer to " + bytes(data))

    gw.udp.catch_all = hook
    ep = board.udp.bind(4000)
    ep.sendto(b"query", (FAR, 53))
    assert sim.run(until=lambda: ep.pending(), max_ms=100)
    assert seen == [(BOARD, 4000, FAR, 53, b"query")]
    assert ep.recvfrom() == (b"answer to query", (FAR, 53))


def test_udp_to_the_gateway_itself_still_reaches_its_own_endpoints():
    sim, gw, board = pair()
    gw.udp.catch_all = lambda *a: fail("the hook took a datagram for the gateway")
    mine = gw.udp.bind(53)
    board.udp.bind(4000).sendto(b"to the gateway", (GW, 53))
    assert sim.run(until=lambda: mine.pending(), max_ms=100)
    assert mine.recvfrom() == (b"to the gateway", (BOARD, 4000))


def test_echo_requests_to_any_address_reach_the_hook_not_the_responder():
    sim, gw, board = pair()
    seen = []

    def hook(h, rest, body, now):
        seen.append((ip_ntoa(h.dst), rest, bytes(body)))
        gw.icmp.send(h.src, icmpw.ECHO_REPLY, 0, rest, bytes(body), src=h.dst, now=now)

    gw.icmp.catch_all = hook
    ping = board.icmp.echo_endpoint(77)
    ping.send(FAR, 5, b"ping data")
    got = []
    assert sim.run(until=lambda: got.append(ping.recv()) or got[-1] is not None, max_ms=100)
    assert got[-1] == (FAR, 5, b"ping data")
    assert seen == [(FAR, icmpw.echo_rest(77, 5), b"ping data")]
    assert gw.stats["icmp"].get("tx_echo_reply", 0) == 0   # the gateway did not answer itself


def test_tcp_syn_to_any_address_is_taken_by_the_hooks_listener():
    sim, gw, board = pair()
    lst = Listener(gw.tcp, 0, None, 16, 16)
    gw.tcp.catch_all = lambda iface, ip, seg, now: lst
    conn = board.tcp.connect(FAR, 80)
    assert sim.run(until=lambda: lst.readable(), max_ms=200)
    far = lst.accept()
    assert (ip_ntoa(far.lip), far.lport, ip_ntoa(far.rip), far.rport) == \
        (FAR, 80, BOARD, conn.lport)
    conn.send(b"GET / HTTP/1.0\r\n\r\n")
    got = []
    assert sim.run(until=lambda: got.append(far.recv(100)) or got[-1], max_ms=200)
    assert got[-1] == b"GET / HTTP/1.0\r\n\r\n"
    far.send(b"HTTP/1.0 200 OK\r\n\r\n")
    far.shutdown_write()
    got = []
    assert sim.run(until=lambda: got.append(conn.recv(100)) or got[-1], max_ms=200)
    assert got[-1] == b"HTTP/1.0 200 OK\r\n\r\n"


def test_a_held_syn_is_input_again_later_and_none_means_a_closed_port():
    sim, gw, board = pair()
    lst = Listener(gw.tcp, 0, None, 16, 16)
    held = []
    verdict = {"v": True}

    def hook(iface, ip, seg, now):
        if verdict["v"] is True:
            held.append((iface, bytes(ip.datagram)))
        return verdict["v"]

    gw.tcp.catch_all = hook
    conn = board.tcp.connect(FAR, 80)
    assert sim.run(until=lambda: held, max_ms=100)
    sim.run(max_ms=50)
    assert not lst.readable() and conn.info()["state"] == "SYN_SENT"
    # The host side answered: the SYN goes in again, and this time the listener takes it
    verdict["v"] = lst
    iface, d = held[0]
    gw.input(iface, d, sim.now)
    assert sim.run(until=lambda: lst.readable(), max_ms=100)
    assert conn.info()["state"] == "ESTABLISHED"
    # A refused one: None is a closed port, the board hears ECONNREFUSED at once
    verdict["v"] = None
    conn2 = board.tcp.connect(FAR, 81)
    assert sim.run(until=lambda: conn2.error, max_ms=100)
    assert conn2.error == errno.ECONNREFUSED


def test_multicast_and_broadcast_never_reach_the_hooks():
    sim, gw, board = pair()
    seen = []
    gw.udp.catch_all = lambda *a: seen.append(a)
    mine = gw.udp.bind(5353)
    ep = board.udp.bind(5353)
    ep.sendto(b"multicast", ("224.0.0.251", 5353))
    ep.sendto(b"subnet broadcast", ("192.0.2.255", 5353))
    assert sim.run(until=lambda: mine.pending(), max_ms=100)
    sim.run(max_ms=50)
    assert seen == [] and mine.recvfrom() == (b"subnet broadcast", (BOARD, 5353))
    assert mine.recvfrom() is None and gw.stats["ip"]["drop_not_ours"] == 1
