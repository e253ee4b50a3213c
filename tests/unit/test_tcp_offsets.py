"""A connection keeps its sequence numbers as offsets from two bases (tcp/state.py): SEQ and ACK
become offsets when a segment arrives and 32-bit values again only as a header is written, and
a base moves up (a rebase) once its side passes state.REBASE.

None of that may show on the wire. Two barenet stacks with ISNs near 2**32 and near 2**31 move
data both ways under loss and reordering (so SACK, RACK and recovery keep state too), with
urgent bytes now and then; the same
run with rebases every few segments, or with the connections moved to just below the real
bound, must put byte for byte the same frames on the wire.
"""

import pytest

import barenet.tcp.input as tcp_input
from barenet.tcp import state
from barenet_host.faults import FaultModel
from barenet_host.vwire import Sim
from test_tcp_transfer import _data

A_MAC, A_IP = "02:00:00:00:00:0a", "192.0.2.10"
B_MAC, B_IP = "02:00:00:00:00:0b", "192.0.2.11"
KB = 1024

# (A's ISN, B's ISN): across 2**32 both ways, across 2**31 (the sign boundary of the modular
# distance), and exactly on the edges
ISNS = [(2**32 - 3000, 2**31 - 2000), (2**31 - 1, 2**32 - 1), (2**30 - 10, 2**28 - 10)]


class Recorder:
    """A pcap writer's interface (vwire.Wire): every frame put on the wire, in order."""

    def __init__(self):
        self.frames = []

    def write(self, data, now):
        self.frames.append((now, bytes(data)))


def run(isns, n=300 * KB, faults=None, prepare=None):
    """A and B exchange n bytes each way, then close; -> (frames on the wire and the sizes of
    B's reads, A's connection, B's connection, the largest offset either TCB held).
    prepare(ca, cb) runs once both are established, before any data."""
    rec = Recorder()
    sim = Sim(0)
    wire = sim.wire(faults=faults, pcap=rec)
    kw = dict(rto_min_ms=200, sndbuf=32 * KB, rcvbuf=32 * KB)
    sa, _ = sim.host(wire, A_MAC, A_IP + "/24", seed=1, isn=lambda *a: isns[0], **kw)
    sb, _ = sim.host(wire, B_MAC, B_IP + "/24", seed=2, isn=lambda *a: isns[1], **kw)
    lst = sb.tcp.listen(5001)
    ca = sa.tcp.connect(B_IP, 5001)
    out = {"a": _data(n, 1), "b": _data(n, 2)}
    st = {"sent_a": 0, "sent_b": 0, "got_a": bytearray(), "got_b": bytearray(), "cb": None,
          "ready": False, "top": 0, "urgent": 10 * KB, "reads": []}

    def task(now):
        if st["cb"] is None:
            st["cb"] = lst.accept()
            if st["cb"] is None:
                return None
        cb = st["cb"]
        cb.oobinline = True
        if not st["ready"]:
            if prepare is not None:
                prepare(ca, cb)
            st["ready"] = True
        for c, key, got in ((ca, "a", "got_a"), (cb, "b", "got_b")):
            for x in (c.snd_una, c.snd_nxt, c.snd_max, c.rcv_nxt, c.rcv_adv):
                st["top"] = max(st["top"], abs(x))
            data = out[key]
            while st["sent_" + key] < n:
                i = st["sent_" + key]
                if key == "a" and i >= st["urgent"]:
                    # now and then an urgent byte (B keeps it in line): urgent pointers are
                    # offsets too
                    st["urgent"] = i + 50 * KB
                    k = c.send(data[i:i + 1], oob=True)
                else:
                    k = c.send(data[i:i + 8192])
                if not k:
                    break
                st["sent_" + key] += k
            if st["sent_" + key] == n and c.info()["state"] in ("ESTABLISHED", "CLOSE_WAIT"):
                c.shutdown_write()
            while True:
                b = c.recv(65536)
                if not b:
                    break
                st[got] += b
                if key == "b":
                    st["reads"].append(len(b))      # a read stops at the urgent mark
        return None

    sim.add_task(task)
    done = sim.run(until=lambda: len(st["got_a"]) == n and len(st["got_b"]) == n,
                   max_ms=600000)
    assert sa.last_error is None and sb.last_error is None, (sa.last_error, sb.last_error)
    assert done, "stalled: %r %r" % (ca.info(), st["cb"] and st["cb"].info())
    assert bytes(st["got_b"]) == out["a"] and bytes(st["got_a"]) == out["b"]
    sim.run(until=lambda: not sa.tcp.connections() and not sb.tcp.connections(), max_ms=200000)
    return (rec.frames, st["reads"]), ca, st["cb"], st["top"]


def counting_moves(monkeypatch):
    moves = {"snd": 0, "rcv": 0}
    snd, rcv = state.move_snd, state.move_rcv

    def move_snd(tcb, d):
        moves["snd"] += 1
        snd(tcb, d)

    def move_rcv(tcb, d):
        moves["rcv"] += 1
        rcv(tcb, d)
    monkeypatch.setattr(state, "move_snd", move_snd)
    monkeypatch.setattr(state, "move_rcv", move_rcv)
    return moves


def test_offsets_start_at_the_bases_and_the_wire_carries_32_bit_numbers():
    (frames, _), ca, cb, top = run((2**32 - 3000, 2**31 - 2000), n=20 * KB)
    a, b = ca.info(), cb.info()
    assert (a["iss"], b["irs"]) == (2**32 - 3000, 2**32 - 3000)
    assert (b["iss"], a["irs"]) == (2**31 - 2000, 2**31 - 2000)
    # SYN, FIN and 20 KB: the 32-bit numbers wrapped past 2**32, the offsets did not
    assert a["snd_max"] == (2**32 - 3000 + 1 + 20 * KB + 1) % 2**32 == b["rcv_nxt"]
    assert ca.iss == 0 and ca.snd_max == 1 + 20 * KB + 1 and cb.rcv_nxt == ca.snd_max
    assert top < 2**30
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether
    syn = [Ether(f)[TCP] for _, f in frames if TCP in Ether(f)][0]
    assert syn.flags == "S" and syn.seq == 2**32 - 3000


@pytest.mark.parametrize("isns", ISNS, ids=["wrap", "edges", "sign"])
def test_rebasing_every_few_segments_puts_the_same_frames_on_the_wire(isns, monkeypatch):
    faults = dict(loss=0.08, reorder=0.05, reorder_ms=3, duplicate=0.02, delay_ms=1)
    ref, _, _, ref_top = run(isns, faults=FaultModel(seed=5, **faults))
    moves = counting_moves(monkeypatch)
    # rebase after every ~10 segments (input.segment checks the bound it imported, then
    # state.rebase its own)
    monkeypatch.setattr(tcp_input, "REBASE", 10 * 1460 + 7)
    monkeypatch.setattr(state, "REBASE", 10 * 1460 + 7)
    got, ca, cb, top = run(isns, faults=FaultModel(seed=5, **faults))
    # each side of each connection moved its base many times (by at least the bound each)
    assert moves["snd"] >= 20 and moves["rcv"] >= 20
    assert top < 10 * 1460 + 7 + 32 * KB + 2 < ref_top
    assert len(got[0]) == len(ref[0]) and got == ref
    # and the 32-bit numbers the connections report are the same
    assert (ca.info()["iss"], cb.info()["irs"], cb.info()["iss"], ca.info()["irs"]) == \
        (isns[0], isns[0], isns[1], isns[1])
    # the recovery machinery really ran while the bases moved, and urgent data went out
    assert sum(1 for _, f in got[0] if len(f) > 54 and f[47] & 0x20) > 5      # URG
    stats = ca.tcp.stats, cb.tcp.stats
    assert sum(s.get("rtx_segs", 0) for s in stats) > 0
    assert sum(s.get("rx_ooo", 0) for s in stats) > 0


def near_the_bound(ca, cb):
    # Move both connections' bases down, so that their offsets sit just below the real bound
    # (the 32-bit numbers stay what they are): the transfer then crosses REBASE itself.
    for c in (ca, cb):
        state.move_snd(c, -(state.REBASE - 40 * KB))
        state.move_rcv(c, -(state.REBASE - 40 * KB))
        assert state.REBASE - 40 * KB <= c.snd_una < state.REBASE


@pytest.mark.parametrize("isns", ISNS[:2], ids=["wrap", "edges"])
def test_a_transfer_across_the_real_bound_puts_the_same_frames_on_the_wire(isns,
                                                                          monkeypatch):
    faults = dict(loss=0.02, reorder=0.05, reorder_ms=3)
    ref, _, _, _ = run(isns, faults=FaultModel(seed=9, **faults))
    moves = counting_moves(monkeypatch)
    got, ca, cb, top = run(isns, faults=FaultModel(seed=9, **faults), prepare=near_the_bound)
    assert moves["snd"] == 2 + 2 and moves["rcv"] == 2 + 2     # ours, then one rebase each
    assert state.REBASE <= top < state.REBASE + 300 * KB
    assert got == ref


def test_moving_a_base_keeps_every_32_bit_number():
    # Every place a TCB keeps a sequence number follows its side's base when it moves: the
    # 32-bit value of each is unchanged, however far and in whichever direction it moves.
    from barenet.stack import Stack
    from barenet.tcp.congestion import NewReno
    from barenet.tcp.rack import RACK
    from barenet.tcp.sack import Scoreboard
    from barenet.tcp.tcb import TCPConnection
    from barenet.tcp.urgent import Urgent

    s = Stack()
    c = TCPConnection(s.tcp, b"\xc0\x00\x02\x01", 1, b"\xc0\x00\x02\x02", 2, 1460, 0)
    c.snd_bh, c.snd_bl, c.rcv_bh, c.rcv_bl = 0xFFFF, 0xF000, 0x7FFF, 0xFF00
    c.cc, c.sb, c.rack = NewReno(1460), Scoreboard(1460), RACK(500)
    snd = {"iss": 0, "snd_una": 500, "snd_nxt": 900, "snd_max": 1000, "snd_wl2": 400,
           "high_rxt": 700, "rtt_seq": 600}
    rcv = {"irs": 0, "rcv_nxt": 3000, "rcv_adv": 9000, "snd_wl1": 2990, "rcv_fin_seq": 5000}
    for k, v in list(snd.items()) + list(rcv.items()):
        setattr(c, k, v)
    c.cc.recover, c.cc._usage_seq = 800, 950
    c.sb._base, c.sb._rescue = 500, 990
    c.rack.tlp_end, c.rack.rto_end = 1000, 1000
    c.urg = Urgent()          # made on the first urgent data: here, set by hand
    c.urg.snd_up, c.urg.rcv_up, c.urg.urg_seq, c.urg.urg_mark = 950, 3100, 3099, 2500
    c.rcvbuf.ranges = [(4000, 4500), (3500, 3600)]

    def numbers():
        sa = lambda v: state.snd_abs(c, v)  # noqa: E731
        ra = lambda v: state.rcv_abs(c, v)  # noqa: E731
        return ([sa(getattr(c, k)) for k in snd], [ra(getattr(c, k)) for k in rcv],
                [sa(c.cc.recover), sa(c.cc._usage_seq), sa(c.sb._base), sa(c.sb._rescue),
                 sa(c.rack._base), sa(c.rack.tlp_end), sa(c.rack.rto_end), sa(c.urg.snd_up)],
                [ra(c.urg.rcv_up), ra(c.urg.urg_seq), ra(c.urg.urg_mark)],
                [(ra(lo), ra(hi)) for lo, hi in c.rcvbuf.ranges])

    before = numbers()
    assert before[0][0] == 2**32 - 0x1000 and before[1][0] == 0x7FFFFF00
    for d in (500, state.REBASE, -12345, 2**31 + 7, -(2**31)):
        state.move_snd(c, d)
        state.move_rcv(c, d + 1)
        assert numbers() == before, d
    assert c.snd_una == 500 - 500 - state.REBASE + 12345 - 2**31 - 7 + 2**31
