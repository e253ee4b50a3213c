"""The virtual wire and clock: hub delivery, deadline jumps across the tick wrap, faults on the wire.

Fake stacks stand in for barenet.stack.Stack here: they have its input()/poll() shape and record
what they were given. Two real stacks exchanging UDP are at the end.
"""

import io

import pytest

from barenet import ticks

from barenet_host.faults import FaultModel
from barenet_host.pcap import PcapWriter
from barenet_host.vwire import Sim

NEAR_WRAP = ticks.PERIOD - 3000


class FakeIface:
    hlen = 14
    mtu = 1500
    rx_max = 1500
    link_up = True

    def __init__(self, nic):
        self.nic = nic


class FakeStack:
    """Records (frame, now) per input; poll() returns the wait of the next timer in `timers`.
    Has the shape the loop step needs of a barenet.stack.Stack: interfaces, input, poll."""

    def __init__(self, sim, nic, on_input=None):
        self.sim = sim
        self.nic = nic
        self.iface = FakeIface(nic)
        self.interfaces = [self.iface]
        self.inputs = []
        self.polls = []
        self.timers = []  # wrapped deadlines, earliest first
        self.fired = []
        self.on_input = on_input
        self.depth = 0
        sim.add_stack(self)

    def input(self, iface, frame, now_ms):
        assert iface is self.iface
        self.depth += 1
        assert self.depth == 1, "input() re-entered"
        self.inputs.append((bytes(frame), now_ms))
        if self.on_input is not None:
            self.on_input(self, frame, now_ms)
        self.depth -= 1

    def pending(self):
        return False

    def poll(self, now_ms):
        self.polls.append(now_ms)
        while self.timers and ticks.due(self.timers[0], now_ms):
            self.fired.append((self.timers.pop(0), now_ms))
        return ticks.until(self.timers[0], now_ms) if self.timers else None


def test_hub_delivers_to_every_other_nic_but_not_back_to_the_sender():
    sim = Sim()
    wire = sim.wire()
    a, b, c = wire.nic(), wire.nic(), wire.nic()
    a.send(b"from-a")
    c.send(memoryview(b"from-c"))
    assert sim.run() is False  # nothing left to do
    assert a.received == [b"from-c"]
    assert b.received == [b"from-a", b"from-c"]
    assert c.received == [b"from-a"]


def test_two_wires_are_separate_segments():
    sim = Sim()
    w1, w2 = sim.wire(), sim.wire()
    a, b = w1.nic(), w1.nic()
    c = w2.nic()
    a.send(b"x")
    sim.run()
    assert b.received == [b"x"] and c.received == []


def test_send_copies_the_frame():
    sim = Sim()
    wire = sim.wire()
    a, b = wire.nic(), wire.nic()
    buf = bytearray(b"abc")
    a.send(memoryview(buf))
    buf[0] = ord("X")
    sim.run()
    assert b.received == [b"abc"]


def test_delivery_never_happens_inside_send_but_in_the_next_step():
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire()
    na, nb = wire.nic(), wire.nic()

    def echo(stack, frame, now):
        # Replying from inside input(): the reply must not re-enter the peer's input().
        n = frame[0]
        if n < 50:
            stack.nic.send(bytes([n + 1]))

    a = FakeStack(sim, na, echo)
    b = FakeStack(sim, nb, echo)
    na.send(b"\x00")
    assert b.inputs == []  # not delivered inside send()
    sim.run()
    assert [f[0] for f, _ in b.inputs] == list(range(0, 51, 2))
    assert [f[0] for f, _ in a.inputs] == list(range(1, 50, 2))
    # Zero delay: the whole exchange happens at one virtual instant, one hop per step.
    assert {now for _, now in a.inputs + b.inputs} == {NEAR_WRAP}
    assert len(b.polls) == 51  # frame n is delivered in step n + 1


def test_frames_from_one_sender_arrive_in_order():
    sim = Sim()
    wire = sim.wire()
    a, b = wire.nic(), wire.nic()
    for i in range(1000):
        a.send(i.to_bytes(2, "big"))
    sim.run()
    assert b.received == [i.to_bytes(2, "big") for i in range(1000)]


def test_clock_jumps_to_each_deadline_across_the_tick_wrap():
    sim = Sim(start_ms=NEAR_WRAP)
    s = FakeStack(sim, sim.wire().nic())
    s.timers = [ticks.add(NEAR_WRAP, d) for d in (1000, 2999, 3000, 3001, 125000)]
    assert sim.run(max_ms=200000) is False
    assert s.polls == [NEAR_WRAP] + [t for t, _ in s.fired]
    assert [now for _, now in s.fired] == [NEAR_WRAP + 1000, ticks.PERIOD - 1, 0, 1, 122000]
    assert sim.now == 122000


def test_run_returns_true_as_soon_as_until_holds():
    sim = Sim(start_ms=NEAR_WRAP)
    s = FakeStack(sim, sim.wire().nic())
    s.timers = [ticks.add(NEAR_WRAP, d) for d in range(500, 10001, 500)]
    assert sim.run(until=lambda: len(s.fired) == 7) is True
    assert sim.now == 500  # 3500 ms after start: 3000 to the wrap plus 500
    assert sim.run(until=lambda: len(s.fired) == 100) is False  # timers run out first
    assert len(s.fired) == 20


def test_max_ms_stops_the_run_and_leaves_the_clock_at_the_limit():
    sim = Sim(start_ms=NEAR_WRAP)
    s = FakeStack(sim, sim.wire().nic())
    s.timers = [ticks.add(NEAR_WRAP, 120000)]  # a TIME_WAIT-like timer
    assert sim.run(max_ms=5000) is False
    assert sim.now == 2000 and s.fired == []
    assert sim.run(max_ms=200000) is False
    assert s.fired == [(s.fired[0][0], ticks.add(NEAR_WRAP, 120000))]
    assert len(s.polls) == 3  # start, the step after the max_ms stop, the timer: nothing between


def test_max_steps_stops_a_stack_that_always_wants_to_run_now():
    sim = Sim()
    sim.add_task(lambda now: 0)
    assert sim.run(max_steps=100) is False
    assert sim.now == 0


def test_tasks_run_every_step_and_their_waits_count():
    sim = Sim(start_ms=NEAR_WRAP)
    seen = []

    def task(now):
        seen.append(now)
        return 700 if len(seen) < 6 else None

    sim.add_task(task)
    assert sim.run() is False
    assert [ticks.diff(t, NEAR_WRAP) for t in seen] == [0, 700, 1400, 2100, 2800, 3500]


def test_advance_moves_the_clock_even_when_idle():
    sim = Sim(start_ms=NEAR_WRAP)
    s = FakeStack(sim, sim.wire().nic())
    sim.advance(4000)
    assert sim.now == 1000
    s.timers = [1500, 9000]
    sim.advance(1000)
    assert sim.now == 2000 and [now for _, now in s.fired] == [1500]


def test_wire_faults_delay_delivery_in_virtual_time():
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire(faults=FaultModel(delay_ms=40))
    b = FakeStack(sim, wire.nic())
    a = wire.nic()
    a.send(b"slow")
    sim.run()
    assert b.inputs == [(b"slow", ticks.add(NEAR_WRAP, 40))]
    assert b.polls == [NEAR_WRAP, ticks.add(NEAR_WRAP, 40)]


def test_wire_faults_apply_separately_per_receiver():
    sim = Sim()
    model = FaultModel(seed=17, loss=0.3)
    wire = sim.wire(faults=model)
    a, b, c = wire.nic(), wire.nic(), wire.nic()
    for i in range(1000):
        a.send(i.to_bytes(2, "big"))
    sim.run()
    assert model.stats["sent"] == 2000
    assert len(b.received) + len(c.received) == 2000 - model.stats["dropped"]
    assert b.received != c.received


def test_a_port_can_have_its_own_faults():
    sim = Sim()
    wire = sim.wire()
    a = wire.nic()
    deaf = wire.nic(faults=FaultModel(loss=1.0))
    other = wire.nic()
    a.send(b"x")
    sim.run()
    assert deaf.received == [] and other.received == [b"x"]


def test_lossy_reordering_wire_loses_and_reorders():
    sim = Sim(start_ms=NEAR_WRAP)
    model = FaultModel(seed=5, loss=0.1, reorder=0.2, reorder_ms=3, duplicate=0.05)
    wire = sim.wire(faults=model)
    a, b = wire.nic(), wire.nic()
    sim.add_task(lambda now: None)
    for i in range(2000):
        a.send(i.to_bytes(2, "big"))
        sim.advance(1)
    sim.run()
    got = [int.from_bytes(f, "big") for f in b.received]
    assert len(got) == 2000 - model.stats["dropped"] + model.stats["duplicated"]
    assert got != sorted(got)
    assert len(set(got)) == 2000 - model.stats["dropped"]


def test_bandwidth_limited_wire_spaces_deliveries():
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire(faults=FaultModel(bandwidth_bps=1000000))
    b = FakeStack(sim, wire.nic())
    a = wire.nic()
    for _ in range(5):
        a.send(b"\0" * 1000)  # 8 ms each at 1 Mbit/s
    sim.run()
    assert [ticks.diff(now, NEAR_WRAP) for _, now in b.inputs] == [8, 16, 24, 32, 40]


def test_pcap_records_every_frame_on_the_wire_with_virtual_time():
    scapy = pytest.importorskip("scapy.all")
    sim = Sim(start_ms=NEAR_WRAP)
    f = io.BytesIO()
    pcap = PcapWriter(f)
    wire = sim.wire(faults=FaultModel(loss=1.0), pcap=pcap)  # recorded as sent, even if lost
    a, b = wire.nic(), wire.nic()
    sim.add_task(lambda now: None)
    for i in range(4):
        a.send(bytes([i]) * 60)
        sim.advance(1500)
    assert b.received == []
    f.seek(0)
    packets = scapy.rdpcap(f)
    assert [bytes(p) for p in packets] == [bytes([i]) * 60 for i in range(4)]
    assert [round(float(p.time) * 1000) - NEAR_WRAP for p in packets] == [0, 1500, 3000, 4500]


@pytest.mark.timeout(60)
def test_a_long_stream_of_frames_passes_in_one_run():
    # Tens of thousands of frames, as in a multi-megabyte TCP transfer: the event queue must
    # not be quadratic (pytest-timeout catches it if it is).
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire(faults=FaultModel(seed=3, loss=0.01, delay_ms=1, jitter_ms=2))
    na, nb = wire.nic(), wire.nic()
    sent = [0]

    def source(now):
        if sent[0] < 50000:
            for _ in range(10):
                na.send(sent[0].to_bytes(4, "big") * 4)
                sent[0] += 1
            return 0 if sent[0] % 100 else 1
        return None

    sink = FakeStack(sim, nb)
    sim.add_task(source)
    assert sim.run(until=lambda: sent[0] == 50000 and len(sink.inputs) >= 49000, max_ms=600000)
    sim.run()
    assert len(sink.inputs) == 50000 - wire.faults.stats["dropped"]


# --- two real barenet stacks --------------------------------------------------------------

MAC_A = b"\x02\x00\x00\x00\x00\x0a"
MAC_B = b"\x02\x00\x00\x00\x00\x0b"


@pytest.mark.parametrize("start", [0, ticks.PERIOD - 30])
def test_two_stacks_exchange_udp_over_the_wire(start):
    # A 3-5 ms link: twenty round trips from PERIOD - 30 carry ARP and UDP across the tick wrap.
    sim = Sim(start_ms=start)
    wire = sim.wire(faults=FaultModel(seed=1, delay_ms=3, jitter_ms=2))
    a, _ = sim.host(wire, MAC_A, "192.0.2.10/24")
    b, _ = sim.host(wire, MAC_B, "192.0.2.11/24")
    server = b.udp.bind(port=7)
    client = a.udp.bind()

    def echo(now):
        got = server.recvfrom()
        if got is not None:
            server.sendto(got[0], got[1])
        return None

    sim.add_task(echo)
    replies = []
    for i in range(20):
        client.sendto(b"ping %d" % i, ("192.0.2.11", 7))
        assert sim.run(until=lambda: _take(client, replies), max_ms=5000)
    assert [r[0] for r in replies] == [b"ping %d" % i for i in range(20)]
    assert all(r[1] == ("192.0.2.11", 7) for r in replies)
    elapsed = ticks.diff(sim.now, start)
    assert 20 * 6 <= elapsed <= 20 * 10 + 10  # the first round trip adds ARP
    if start:
        assert sim.now < start  # wrapped


def _take(ep, into):
    got = ep.recvfrom()
    if got is None:
        return False
    into.append(got)
    return True


def test_settle_runs_the_chain_of_the_current_instant_and_keeps_the_clock():
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire()
    na, nb = wire.nic(), wire.nic()

    def echo(stack, frame, now):
        if frame[0] < 9:
            stack.nic.send(bytes([frame[0] + 1]))

    a = FakeStack(sim, na, echo)
    b = FakeStack(sim, nb, echo)
    a.timers = [ticks.add(NEAR_WRAP, 50)]
    na.send(b"\x00")
    assert sim.settle() is True
    assert len(a.inputs) + len(b.inputs) == 10
    assert sim.now == NEAR_WRAP and sim.ms == NEAR_WRAP and a.fired == []
    sim.advance(3050)
    assert sim.ms == ticks.PERIOD + 50 and sim.now == 50 and len(a.fired) == 1


def test_advance_also_delivers_what_is_sent_at_its_last_instant():
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire()
    sniffer = wire.nic()
    s = FakeStack(sim, wire.nic())
    s.timers = [ticks.add(NEAR_WRAP, 3000)]
    sim.add_task(lambda now: s.nic.send(b"tick") if s.fired and not sniffer.received else None)
    sim.advance(3000)
    assert sim.now == 0 and sniffer.received == [b"tick"]


def test_capture_of_a_real_exchange_decodes_as_arp_then_udp():
    scapy = pytest.importorskip("scapy.all")
    f = io.BytesIO()
    sim = Sim(start_ms=NEAR_WRAP)
    wire = sim.wire(pcap=PcapWriter(f))
    a, _ = sim.host(wire, MAC_A, "192.0.2.10/24")
    b, _ = sim.host(wire, MAC_B, "192.0.2.11/24")
    b.udp.bind(port=9)
    a.udp.bind(port=5000).sendto(b"hello", ("192.0.2.11", 9))
    sim.run(max_ms=1000)
    f.seek(0)
    packets = scapy.rdpcap(f)
    arp = [p for p in packets if p.haslayer(scapy.ARP)]
    udp = [p for p in packets if p.haslayer(scapy.UDP)]
    assert len(arp) + len(udp) == len(packets) and len(udp) == 1
    # Both hosts announce themselves (gratuitous ARP) and A resolves B before the datagram.
    assert {(p[scapy.ARP].op, p[scapy.ARP].psrc) for p in arp} >= {(1, "192.0.2.10"), (1, "192.0.2.11")}
    assert packets.index(udp[0]) > 1
    udp = udp[0]
    assert (udp[scapy.IP].src, udp[scapy.IP].dst) == ("192.0.2.10", "192.0.2.11")
    assert (udp[scapy.UDP].sport, udp[scapy.UDP].dport, bytes(udp[scapy.UDP].payload)) == (5000, 9, b"hello")
    assert all(round(float(p.time) * 1000) == NEAR_WRAP for p in packets)  # no delay on this wire
