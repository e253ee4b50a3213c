"""A receiver that stops reading shuts its window; the sender probes it (RFC 9293 3.8.6.1) and
must keep the connection for as long as the probes are answered, then deliver everything once
the reader drains. Found through barenet.aio: a sender whose receiver read nothing for 13
minutes gave up with ETIMEDOUT, because a probe into the zero window got no ACK (the data
step trimmed it to nothing and owed none) and an answer exactly one capped RTO old counted
as silence."""

from barenet.socket import Sockets
from barenet.tcp.state import ESTABLISHED
from barenet_host.vwire import Sim, SimDriver

HOUR_S = 3600


def _pair(profile):
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile=profile)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile=profile)
    drv = SimDriver(sim)
    srv, cli = Sockets(a, drv), Sockets(b, drv)
    lst = srv.socket()
    lst.bind(("192.0.2.1", 7))
    lst.listen(1)
    c = cli.socket()
    c.settimeout(5)
    c.connect(("192.0.2.1", 7))
    s, _ = lst.accept()
    return sim, a, b, s, c


def test_a_sender_facing_a_zero_window_for_an_hour_keeps_probing_then_delivers_all():
    for profile in ("board", "host"):
        sim, a, b, s, c = _pair(profile)
        c.setblocking(False)
        data = bytes((i * 31 + 7) & 0xFF for i in range(4 * c.getsockopt(1, 8) + 12345))
        sent = 0
        for _ in range(HOUR_S):
            try:
                sent += c.send(data[sent:sent + 1000])
            except OSError:
                pass                     # EAGAIN: the send buffer is full
            sim.advance(1000)
        conn = c._ep
        assert conn.state == ESTABLISHED and not conn.error, profile
        probes = a.tcp.stats["rx_past_window"]
        # answered every time, at most one RTO (rto_max, 60 s) apart once backed off
        assert probes >= HOUR_S // 60 - 5, (profile, probes, a.tcp.stats)
        assert b.tcp.stats["rx"] >= probes
        # the reader comes back: everything arrives, in order, and the sender finishes
        got = bytearray()
        s.settimeout(5)
        c.settimeout(30)
        while len(got) < sent:
            got += s.recv(65536)
        rest = data[sent:]
        while rest:
            try:
                n = c.send(rest)
                rest = rest[n:]
            except OSError:
                pass
            got += s.recv(65536)
        while len(got) < len(data):
            got += s.recv(65536)
        assert bytes(got) == data, profile


def test_two_peers_probing_each_others_zero_window_do_not_trade_acks_for_ever():
    # Both send, neither reads: each probes the other's shut window. An ACK whose SEQ is past
    # the peer's window edge (SND.MAX after a probe byte) is unacceptable there and answered
    # by an ACK of the same kind: the ACK is sent at the edge instead (Linux
    # tcp_acceptable_seq), so ten minutes cost a few segments per probe, not a storm.
    sim, a, b, s, c = _pair("board")
    s.setblocking(False)
    c.setblocking(False)
    chunk = bytes(1000)
    for _ in range(600):
        for sock in (s, c):
            try:
                sock.send(chunk)
            except OSError:
                pass
        sim.advance(1000)
    assert s._ep.state == ESTABLISHED and c._ep.state == ESTABLISHED
    assert a.tcp.stats["tx"] + b.tcp.stats["tx"] < 2000, (a.tcp.stats, b.tcp.stats)
    assert a.tcp.stats.get("rx_out_of_window", 0) < 20 and \
        b.tcp.stats.get("rx_out_of_window", 0) < 20
