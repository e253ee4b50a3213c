"""One egress path with explicit time, readiness signals, and a poll that looks only at the
connections that need it.

- User calls transmit nothing: the next poll sends what they queued, at its own time, so an
  app that writes between two polls does not skew the RTT sample (RFC 6298) with a stale
  stack.now.
- Every endpoint counts its readiness changes and calls on_event once after the input or
  timer pass that made them (barenet/readiness.py).
- TCP.poll services queued and due connections only: idle ones cost nothing.
"""

from scapy.layers.inet import ICMP, IP, TCP as ScapyTCP, UDP
from scapy.layers.l2 import Ether

from barenet.tcp.tcb import TCPConnection
from barenet_host.vwire import Sim
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup
from tcp_script import Script

MSS = 1460


def test_user_calls_transmit_nothing_until_the_next_poll():
    s = Script(isn=2000)
    c = s.established_passive()
    sent = s.stack.stats["tcp"]["tx"]
    c.send(b"queued")
    c.shutdown_write()
    assert s.stack.stats["tcp"]["tx"] == sent           # nothing left inside the calls
    assert s.stack.pending()
    s.expect("PA|FPA", data=b"queued", at=0)
    assert not s.stack.pending()


def test_a_send_between_polls_leaves_at_the_polls_time_and_the_rtt_sample_is_true():
    # stack.now is the last input's time; the app writes 50 ms later and the runner's poll
    # at that time sends it. The ACK 10 ms after that must give an RTT of 10 ms, not 60.
    s = Script(isn=2000)
    c = s.established_passive()          # the handshake's RTT: 0 (SRTT*8 = 1)
    s.wait(500)
    stale = s.stack.now
    c.send(b"x" * 100)                  # the write happens at t=500 as the stack knows it ...
    s.sim._abs += 400                   # ... but the runner's next step comes 400 ms later
    seg = s.expect("PA", data=b"x" * 100)
    assert s.now == 900 and s.stack.now != stale
    s.wait(80)
    s.inject("A", seq=1001, ack=seg.seq + 100)
    s.settle()
    # RFC 6298 (2.3) with one 80 ms sample: SRTT*8 = 1 + 80 -> 10 ms (a stale send time
    # would have given a 480 ms sample: 60 ms)
    assert c.info()["srtt_ms"] == (1 + 80) >> 3


def events_log(ep):
    log = []
    ep.on_event = lambda e: log.append((e.events, e))
    return log


def test_tcp_readiness_fires_for_accept_data_room_eof_and_reset():
    s = Script(isn=2000)
    lst = s.tcp.listen(80)
    accepted = events_log(lst)
    s.inject("S", seq=1000, win=65535, mss=1460)
    sa = s.expect("SA")
    assert accepted == []                                 # half-open: nothing to accept
    s.inject("A", seq=1001, ack=sa.seq + 1)
    s.settle()
    assert [n for n, _ in accepted] == [1] and lst.events == 1
    c = lst.accept()
    log = events_log(c)
    s.inject("PA", seq=1001, ack=2001, data=b"hello")
    s.settle()
    assert len(log) == 1 and log[-1][1] is c              # readable
    c.recv(10)
    c.send(b"x" * 2 * MSS)
    s.expect_many(2)
    assert len(log) == 1                                  # our own calls fire nothing
    s.inject("A", seq=1006, ack=2001 + MSS)
    s.settle()
    assert len(log) == 2                                  # room in the send buffer
    s.inject("A", seq=1006, ack=2001 + MSS)               # a duplicate ACK: nothing new
    s.settle()
    assert len(log) == 2
    s.inject("FA", seq=1006, ack=2001 + 2 * MSS)
    s.settle()
    assert len(log) == 3 and c.recv(10) == b""            # one pass: room and end of stream
    s.inject("R", seq=1007)
    s.settle()
    assert len(log) == 4 and c.info()["state"] == "CLOSED"
    # events counts each change: established (1, before accept), data, room, room + end, reset
    assert [n for n, _ in log] == [2, 3, 5, 6]


def test_a_timer_that_kills_a_connection_fires_readiness():
    s = Script(isn=2000, max_retries=1, rto_min_ms=200)
    c = s.established_passive()
    log = events_log(c)
    c.send(b"lost")
    s.wait(10000)
    assert c.info()["state"] == "CLOSED" and len(log) == 1


def test_udp_and_echo_endpoints_signal_datagrams_and_errors():
    sim, stack, iface, peer = setup()
    iface.arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex(PEER_MAC.replace(":", "")), sim.now)
    ep = stack.udp.bind(7)
    other = stack.udp.bind(8)
    ping = stack.icmp.echo_endpoint(9)
    log, other_log, ping_log = events_log(ep), events_log(other), events_log(ping)
    eth = Ether(dst=STACK_MAC, src=PEER_MAC)
    peer.send(eth / IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=1, dport=7) / b"a")
    sim.run(max_ms=1)
    assert len(log) == 1 and other_log == []
    ep.sendto(b"q", (PEER_IP, 53))
    sim.run(max_ms=1)
    sent = [f for f in peer.take() if UDP in f][-1]
    peer.send(eth / IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=3) / bytes(sent[IP])[:28])
    sim.run(max_ms=1)
    assert len(log) == 2                                  # the error, for recvfrom to raise
    ping.send(PEER_IP, 1, b"p")
    sim.run(max_ms=1)
    peer.send(eth / IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=0, id=9, seq=1) / b"p")
    sim.run(max_ms=1)
    assert len(ping_log) == 1 and other_log == []


def test_poll_looks_only_at_connections_that_need_it(monkeypatch):
    # 300 idle connections and one busy one: the busy one's traffic must not make every
    # poll visit the idle ones (the connections' own poll is the expensive part).
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host", seed=1)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host", seed=2)
    lst = b.tcp.listen(9)
    idle = [a.tcp.connect("192.0.2.2", 9) for _ in range(300)]
    busy = a.tcp.connect("192.0.2.2", 9)
    assert sim.run(until=lambda: lst.readable() == 301, max_ms=2000)
    peers = [lst.accept() for _ in range(301)]
    sim.advance(100)
    calls = []
    real = TCPConnection.poll
    monkeypatch.setattr(TCPConnection, "poll", lambda self, now: calls.append(self) or
                        real(self, now))
    data = bytes(2000000)
    sent = [0]
    got = [0]

    def app(now):
        if sent[0] < len(data):
            sent[0] += busy.send(data[sent[0]:sent[0] + 65536])
        d = peers[-1].recv(1 << 20)
        while d:
            got[0] += len(d)
            d = peers[-1].recv(1 << 20)

    sim.add_task(app)
    assert sim.run(until=lambda: got[0] == len(data), max_ms=20000)
    on_idle = sum(1 for c in calls if c in idle or c in peers[:-1])
    assert len(calls) > 50 and on_idle == 0, (len(calls), on_idle)
    assert all(c.info()["state"] == "ESTABLISHED" for c in idle)
