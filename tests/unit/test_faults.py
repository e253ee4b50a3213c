"""FaultModel and FaultyNIC: seeded, reproducible link faults on the wrapping tick clock."""

import pytest

from barenet import ticks

from barenet_host.faults import FaultModel, FaultyNIC, Schedule, parse_spec, spread_seed
from peer import ListNIC

NEAR_WRAP = ticks.PERIOD - 3000


def frames(n, size=60):
    return [bytes([i & 0xFF]) * size for i in range(n)]


def fates(model, n=10000, t0=NEAR_WRAP, step_ms=1):
    """(frame index, delivered copies) for n frames offered one every step_ms."""
    out = []
    for i in range(n):
        now = ticks.add(t0, i * step_ms)
        out.append([(ticks.diff(at, now), data) for at, data in model.apply(i.to_bytes(4, "big") * 15, now)])
    return out


def test_no_faults_passes_every_frame_unchanged_and_immediately():
    m = FaultModel()
    for f in frames(100):
        assert m.apply(memoryview(f), 1234) == [(1234, f)]
    assert m.stats == {"sent": 100, "dropped": 0, "duplicated": 0, "corrupted": 0,
                       "reordered": 0, "queue_dropped": 0}


def test_apply_returns_copies_not_the_callers_buffer():
    m = FaultModel()
    buf = bytearray(b"abcdef")
    [(at, data)] = m.apply(memoryview(buf), 0)
    buf[0] = 0
    assert data == b"abcdef"


def test_loss_rate_is_close_to_the_probability_and_counted():
    m = FaultModel(seed=42, loss=0.1)
    delivered = sum(len(c) for c in fates(m))
    assert 900 <= m.stats["dropped"] <= 1100
    assert delivered == 10000 - m.stats["dropped"]
    assert m.stats["sent"] == 10000


def test_same_seed_same_faults_other_seed_other_faults():
    cfg = dict(loss=0.1, duplicate=0.05, reorder=0.1, corrupt=0.05, jitter_ms=4)
    a = fates(FaultModel(seed=7, **cfg), n=2000)
    b = fates(FaultModel(seed=7, **cfg), n=2000)
    c = fates(FaultModel(seed=8, **cfg), n=2000)
    assert a == b
    assert a != c


def test_seed_zero_still_produces_faults():
    m = FaultModel(seed=0, loss=0.5)
    fates(m, n=1000)
    assert 400 <= m.stats["dropped"] <= 600


def test_loss_one_drops_everything_and_can_be_changed_between_frames():
    m = FaultModel(loss=1.0)
    assert m.apply(b"x" * 60, 0) == []
    m.loss = 0.0
    assert m.apply(b"x" * 60, 0) == [(0, b"x" * 60)]
    assert m.stats["dropped"] == 1


def test_duplicate_emits_two_identical_copies():
    m = FaultModel(seed=3, duplicate=0.2)
    out = fates(m, n=5000)
    doubles = [c for c in out if len(c) == 2]
    assert len(doubles) == m.stats["duplicated"]
    assert 800 <= len(doubles) <= 1200
    assert all(c[0] == c[1] for c in doubles)


def test_corruption_flips_exactly_one_bit_anywhere_in_the_frame():
    m = FaultModel(seed=5, corrupt=1.0)
    original = bytes(range(64))
    positions = set()
    for i in range(2000):
        [(_, data)] = m.apply(original, i)
        assert len(data) == len(original)
        x = int.from_bytes(data, "big") ^ int.from_bytes(original, "big")
        assert x and x & (x - 1) == 0  # one bit set
        positions.add(x.bit_length() - 1)
    assert m.stats["corrupted"] == 2000
    # Not only the payload end: bits of the first (Ethernet header) and last bytes are hit too.
    assert min(positions) < 8 and max(positions) >= 63 * 8


def test_corruption_of_a_duplicate_hits_each_copy_separately():
    m = FaultModel(seed=9, duplicate=1.0, corrupt=0.5)
    out = fates(m, n=2000)
    assert m.stats["duplicated"] == 2000
    assert 1800 <= m.stats["corrupted"] <= 2200
    assert any(c[0][1] != c[1][1] for c in out)


def test_reorder_holds_a_frame_back_so_later_frames_overtake_it():
    m = FaultModel(seed=11, reorder=0.25, reorder_ms=5)
    out = fates(m, n=1000)
    held = [i for i, c in enumerate(out) if c[0][0] == 5]
    assert len(held) == m.stats["reordered"]
    assert 200 <= len(held) <= 300
    # Sort deliveries by absolute time (stable: equal times keep sending order) as a link would.
    arrival = sorted(range(1000), key=lambda i: i + out[i][0][0])
    assert arrival != list(range(1000))
    i = next(i for i in held if i + 1 not in held)
    assert arrival.index(i + 1) < arrival.index(i)


def test_delay_and_jitter_bound_the_delivery_time():
    m = FaultModel(seed=13, delay_ms=40, jitter_ms=10)
    waits = [c[0][0] for c in fates(m, n=2000)]
    assert min(waits) == 40 and max(waits) == 50
    assert len(set(waits)) == 11


def test_bandwidth_spaces_frames_by_their_serialisation_time():
    # 1000 bytes at 1 Mbit/s take 8 ms on the wire.
    m = FaultModel(bandwidth_bps=1000000)
    now = NEAR_WRAP + 2995  # the burst straddles the tick wrap
    times = [at for f in range(10) for at, _ in m.apply(b"\0" * 1000, now)]
    assert [ticks.diff(t, now) for t in times] == [8 * (k + 1) for k in range(10)]


def test_bandwidth_keeps_sub_millisecond_remainders():
    # 125 bytes at 1 Mbit/s = 1 ms; 100 bytes = 0.8 ms: 10 frames take exactly 8 ms together.
    m = FaultModel(bandwidth_bps=1000000)
    times = [at for _ in range(10) for at, _ in m.apply(b"\0" * 100, 0)]
    assert times[-1] == 8
    assert times == sorted(times)


def test_an_idle_link_starts_serialising_at_the_current_time():
    m = FaultModel(bandwidth_bps=1000000)
    assert m.apply(b"\0" * 1000, 0)[0][0] == 8
    assert m.apply(b"\0" * 1000, 100)[0][0] == 108


def test_queue_limit_tail_drops_a_burst_like_a_router():
    # 1000-byte frames, 8 ms each; the queue holds 4000 bytes, counting the frame being sent.
    m = FaultModel(bandwidth_bps=1000000, queue_limit=4000)
    out = [m.apply(b"\0" * 1000, 0) for _ in range(10)]
    assert [len(c) for c in out] == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert m.stats["queue_dropped"] == 6
    # Once the queue has drained a little, frames are accepted again.
    assert len(m.apply(b"\0" * 1000, 8)) == 1


def test_faults_combine_and_stats_add_up():
    m = FaultModel(seed=21, loss=0.1, duplicate=0.1, corrupt=0.1, reorder=0.1)
    out = fates(m, n=10000)
    st = m.stats
    assert sum(len(c) for c in out) == st["sent"] - st["dropped"] + st["duplicated"]
    assert all(st[k] > 500 for k in ("dropped", "duplicated", "corrupted", "reordered"))


def test_schedule_orders_by_time_then_by_insertion():
    s = Schedule()
    for at, item in ((5, "c"), (1, "a"), (5, "d"), (1, "b")):
        s.push(at, item)
    assert s.next_at() == 1
    assert s.pop(0) is None
    cut = s.mark()
    s.push(5, "late")  # pushed "during" the pop at time 5: not before it
    assert [s.pop(5, cut) for _ in range(5)] == ["a", "b", "c", "d", None]
    assert s.pop(5) == "late" and len(s) == 0 and s.next_at() is None


def drain(nic):
    """Every frame the NIC hands out now, as bytes."""
    out = []
    buf = bytearray(1514)
    while True:
        n = nic.recv_into(buf)
        if not n:
            return out
        out.append(bytes(buf[:n]))


def test_faulty_nic_holds_tx_frames_until_due_and_copies_them():
    inner = ListNIC()
    nic = FaultyNIC(inner, tx=FaultModel(delay_ms=10))
    assert nic.poll(NEAR_WRAP) is None
    buf = bytearray(b"frame-1")
    nic.send(memoryview(buf))
    buf[:] = b"XXXXXXX"
    assert inner.sent == []
    assert nic.poll(ticks.add(NEAR_WRAP, 4)) == 6
    assert inner.sent == []
    assert nic.poll(ticks.add(NEAR_WRAP, 10)) is None
    assert inner.sent == [b"frame-1"]


def test_faulty_nic_delays_across_the_tick_wrap():
    inner = ListNIC()
    nic = FaultyNIC(inner, tx=FaultModel(delay_ms=3000))
    start = ticks.PERIOD - 1000
    nic.poll(start)
    nic.send(b"late")
    assert nic.poll(1000) == 1000
    assert inner.sent == []
    assert nic.poll(2000) is None
    assert inner.sent == [b"late"]


def test_faulty_nic_rx_path_loses_and_delays_inbound_frames():
    # The inner NIC's frames are pulled by poll() and come out of recv_into() once due.
    inner = ListNIC()
    nic = FaultyNIC(inner, rx=FaultModel(seed=4, loss=0.5, delay_ms=2))
    got = []
    for i in range(200):
        inner.waiting.append(bytes([i]))
        assert nic.poll(i) in (0, 1, 2, None)   # 0: a frame is due now, for recv_into
        got += drain(nic)
    # as the loop step asks again after reading: frame 199, if it survived, is due at 201;
    # else an earlier one is gone
    assert nic.poll(199) == 2
    nic.poll(300)
    got += drain(nic)
    assert len(got) == 200 - nic.rx_faults.stats["dropped"]
    assert 70 <= len(got) <= 130
    assert got == sorted(got)
    assert inner.sent == []


def test_faulty_nic_without_models_passes_frames_at_once():
    inner = ListNIC([b"in"])
    nic = FaultyNIC(inner)
    assert drain(nic) == []          # nothing is pulled before a poll tells the time
    nic.poll(0)
    nic.send(b"out")
    assert inner.sent == [b"out"]    # due now: straight through
    assert drain(nic) == [b"in"]
    assert nic.poll(0) is None
    assert nic.fileno() == 42 and nic.mtu == 1500 and nic.link == "ethernet"


def test_faulty_nic_keeps_the_order_of_frames_due_at_one_instant():
    # A frame the model delays by 0 must not overtake an older one due at the same instant.
    inner = ListNIC()
    model = FaultModel(delay_ms=5)
    nic = FaultyNIC(inner, tx=model)
    nic.poll(0)
    nic.send(b"first")
    model.delay_ms = 0
    nic.poll(5)                      # releases "first"
    nic.send(b"second")
    assert inner.sent == [b"first", b"second"]


def test_faulty_nic_reorders_tx_frames():
    inner = ListNIC()
    nic = FaultyNIC(inner, tx=FaultModel(seed=2, reorder=0.3, reorder_ms=3))
    t = 0
    nic.poll(t)
    for i in range(100):
        nic.send(bytes([i]))
        t += 1
        nic.poll(t)
    nic.poll(t + 10)
    order = [f[0] for f in inner.sent]
    assert sorted(order) == list(range(100))
    assert order != list(range(100))


def test_prng_is_plain_xorshift32_so_every_runtime_draws_the_same():
    # Marsaglia's xorshift32 from state 1; the MicroPython VM test checks the same numbers.
    m = FaultModel(seed=1)
    assert [m._next() for _ in range(5)] == [270369, 67634689, 2647435461, 307599695, 2398689233]


def test_golden_fault_statistics_for_a_fixed_seed():
    # Every fault at once, a saturated 1 Mbit/s queue, across the tick wrap. The MicroPython VM
    # gives the same figures (the lead's tests/micropython runs this same loop).
    m = FaultModel(seed=7, loss=0.1, duplicate=0.05, corrupt=0.05, reorder=0.1, jitter_ms=3,
                   bandwidth_bps=1000000, queue_limit=2000)
    delivered = 0
    last = None
    for i in range(10000):
        for at, _ in m.apply(bytes(100), ticks.add(ticks.PERIOD - 500, i // 10)):
            delivered += 1
            last = at
    assert m.stats == {"sent": 10000, "dropped": 931, "duplicated": 444, "corrupted": 452,
                       "reordered": 140, "queue_dropped": 8244}
    assert (delivered, last) == (1269, 516)


def test_faulty_nic_send_before_any_clock_counts_from_the_first_poll():
    inner = ListNIC()
    nic = FaultyNIC(inner, tx=FaultModel(delay_ms=5))
    nic.send(b"early")
    start = ticks.PERIOD - 2  # far from 0 on the wrapping clock
    assert nic.poll(start) == 5
    assert nic.poll(ticks.add(start, 5)) is None
    assert inner.sent == [b"early"]


# --faults SPEC (issue 10 item 6): what parses, and the one-line reason for what does not.

def test_spec_with_every_key_gives_the_models_arguments():
    assert parse_spec("loss=0.05,dup=0.01,reorder=0.02,corrupt=0.01,delay=20ms,rate=1mbit,"
                      "seed=1") == {"loss": 0.05, "duplicate": 0.01, "reorder": 0.02,
                                    "corrupt": 0.01, "delay_ms": 20, "bandwidth_bps": 1000000,
                                    "seed": 1}
    FaultModel(**parse_spec("loss=1,delay=0"))   # every key is a FaultModel argument


@pytest.mark.parametrize("text, kwargs", [
    ("delay=20", {"delay_ms": 20}),
    ("delay=1.5s", {"delay_ms": 1500}),
    ("delay=0.4ms", {"delay_ms": 0}),
    ("delay=60s", {"delay_ms": 60000}),
    ("rate=64000", {"bandwidth_bps": 64000}),
    ("rate=2.5kbit", {"bandwidth_bps": 2500}),
    ("rate=10bit", {"bandwidth_bps": 10}),
    ("rate=1gbit", {"bandwidth_bps": 1000000000}),
    ("loss=0,dup=1", {"loss": 0.0, "duplicate": 1.0}),
    ("loss=1e-3", {"loss": 0.001}),
    ("seed=0", {"seed": 0}),
])
def test_spec_units(text, kwargs):
    assert parse_spec(text) == kwargs


@pytest.mark.parametrize("text, words", [
    ("", "empty faults spec"),
    ("jitter=5ms", "unknown item 'jitter=5ms'"),
    ("loss=0.1,", "unknown item ''"),
    ("loss", "loss needs a value, e.g. loss=0.05"),
    ("delay=", "delay needs a value"),
    ("loss=0.1,loss=0.2", "loss is given twice"),
    ("loss=lots", "loss='lots' is not a number"),
    ("rate=1mbps", "rate='1mbps' is not a number"),
    ("delay=20us", "delay='20us' is not a number"),
    ("seed=1.5", "seed='1.5' is not a number"),
    ("loss=1.01", "loss must be a probability 0..1, not 1.01"),
    ("corrupt=-0.1", "corrupt must be a probability 0..1"),
    ("dup=nan", "dup must be a probability 0..1, not nan"),
    ("delay=-1", "delay must be 0..60000ms, not -1"),
    ("delay=inf", "delay must be 0..60000ms"),
    ("delay=61s", "delay must be 0..60000ms"),
    ("rate=0", "rate must be 1bit..100gbit, not 0"),
    ("rate=nan", "rate must be 1bit..100gbit"),
    ("seed=-1", "seed must be 0..4294967295"),
])
def test_bad_spec_is_one_line(text, words):
    with pytest.raises(ValueError) as e:
        parse_spec(text)
    msg = str(e.value)
    assert words in msg and "\n" not in msg, msg


def test_spread_seeds_do_not_lose_the_first_frames_of_small_seeds():
    # Raw small seeds start xorshift32 with small draws: most seeds 1..1000 lose their first
    # frame at loss=0.05. Spread, about 5 % of them do, and the directions differ.
    def first_lost(seed):
        return not FaultModel(seed=seed, loss=0.05).apply(b"x" * 60, 0)
    assert sum(first_lost(s) for s in range(1, 1001)) > 800
    lost = sum(first_lost(spread_seed(s)) for s in range(1, 1001))
    assert 20 <= lost <= 90, lost
    assert len({spread_seed(s, d) for s in range(1000) for d in (0, 1)}) == 2000
    assert spread_seed(1, 0) == 0x514E28B7   # the same on every runtime (vm_faults.py)


def test_ce_marks_ect_packets_only_and_keeps_the_ip_checksum():
    # RFC 3168 5: an AQM router marks an ECN-capable packet CE instead of dropping it
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    m = FaultModel(seed=3, ce=1.0)
    for tos, want in ((0, 0), (1, 3), (2, 3), (3, 3), (0xB8, 0xB8), (0xBA, 0xBB)):
        f = bytes(Ether() / IP(src="192.0.2.1", dst="192.0.2.2", tos=tos) / UDP() / b"x")
        ((_, out),) = m.apply(f, 0)
        ip = Ether(out)[IP]
        assert ip.tos == want, (tos, ip.tos)
        redo = ip.copy()
        del redo.chksum
        assert IP(bytes(redo)).chksum == ip.chksum
    assert m.stats["ce_marked"] == 3        # ECT(1), ECT(0), and DSCP 46 with ECT(0)
