"""Congestion-window trace of a real barenet connection through a bottleneck (RFC 5681):
slow start about doubles cwnd per RTT, congestion avoidance adds about one MSS per RTT, a loss
halves it (fast recovery, paced by PRR, RFC 6937) and a retransmission timeout resets it to one
segment. With CUBIC (RFC 9438) a loss leaves 0.7 of the window and cwnd regrows along the cubic
curve back to W_max.

Two barenet stacks on the virtual wire; every port has a 10 Mbit/s link with 10 ms delay (50 ms
for CUBIC, whose curve shows over a window of ~100 segments) and a 30 kB tail-drop queue, so
the sender's window overflows the queue as on a real router.
"""

from math import copysign

from barenet_host.faults import FaultModel
from barenet_host.vwire import Sim

MSS = 1448  # SMSS: the 1460 MSS less the timestamp option every segment carries (RFC 7323)
BIG = {"sndbuf": 1 << 20, "rcvbuf": 1 << 20}


def bulk_transfer(ms, cut_at=None, cut_ms=0, congestion="reno", delay_ms=10):
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host", seed=1,
                    congestion=congestion, **BIG)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host", seed=2, **BIG)
    models = []
    for nic in wire.nics:
        nic.faults = FaultModel(seed=3, delay_ms=delay_ms, bandwidth_bps=10000000, queue_limit=30000)
        models.append(nic.faults)
    listener = b.tcp.listen(9)
    conn = a.tcp.connect("192.0.2.2", 9)
    assert sim.run(until=lambda: listener.readable(), max_ms=1000)
    server = listener.accept()
    data = bytes(1 << 16)
    trace = []  # (ms, cwnd, ssthresh, in_recovery, srtt) at every change

    def app(now):
        while conn.writable():
            conn.send(data[:conn.writable()])
        while server.recv(1 << 16):
            pass
        if cut_at is not None:
            lost = cut_at <= sim.ms < cut_at + cut_ms
            for m in models:
                m.loss = 1.0 if lost else 0.0
        i = conn.info()
        row = (sim.ms, i["cwnd"], i["ssthresh"], i["in_recovery"], i["srtt_ms"])
        if not trace or trace[-1][1:4] != row[1:4]:
            trace.append(row)

    sim.add_task(app)
    sim.run(max_ms=ms)
    return trace, conn


def test_slow_start_doubles_then_loss_halves():
    trace, conn = bulk_transfer(600)
    first_loss = next(i for i, r in enumerate(trace) if r[3])
    ss = trace[:first_loss]
    # Per RTT (~25 ms here), slow start grows cwnd by a factor close to 2 (RFC 5681 3.1 with
    # delayed ACKs and RFC 3465 L=2 byte counting).
    per_rtt = [ss[0]]
    for r in ss[1:]:
        if r[0] - per_rtt[-1][0] >= 25:
            per_rtt.append(r)
    growth = [b[1] / a[1] for a, b in zip(per_rtt, per_rtt[1:])]
    assert len(growth) >= 3
    assert all(1.4 <= g <= 2.1 for g in growth), growth
    # Entering fast recovery: ssthresh = about half of what was in flight (RFC 6675 5).
    before, at = trace[first_loss - 1], trace[first_loss]
    assert 0.4 <= at[2] / before[1] <= 0.6, (before, at)
    # PRR (RFC 6937): cwnd comes down to ssthresh over the recovery, from no higher than it
    # was (no burst), not at once (no stall), and is ssthresh when recovery ends.
    recovery = []
    for r in trace[first_loss:]:
        if not r[3] or r[2] != at[2]:
            break                   # its end (or, within one step, the next one's start)
        recovery.append(r)
    assert all(r[1] <= before[1] for r in recovery)
    assert sum(1 for r in recovery if r[1] > at[2]) >= 5, recovery
    exits = [b for a, b in zip(trace, trace[1:]) if a[3] and not b[3]]
    assert exits and all(b[1] == b[2] for b in exits), exits


def test_congestion_avoidance_adds_one_mss_per_rtt_and_each_loss_halves():
    trace, conn = bulk_transfer(4000)
    # Congestion-avoidance epochs: from leaving recovery to the next loss.
    epochs = []
    start = None
    for i, r in enumerate(trace):
        if not r[3] and r[1] >= r[2] and start is None and i and trace[i - 1][3]:
            start = r
        elif r[3] and start is not None:
            if trace[i - 1] is not start:   # (a stage that met a loss at once never grew)
                epochs.append((start, trace[i - 1], r))
            start = None
    assert len(epochs) >= 2, trace
    for s, end, loss in epochs:
        rtts = (end[0] - s[0]) / end[4]
        per_rtt = (end[1] - s[1]) / rtts
        assert 0.5 * MSS <= per_rtt <= 1.5 * MSS, (s, end)  # RFC 5681 3.1 eq. (3)
        assert 0.4 <= loss[2] / end[1] <= 0.6, (end, loss)   # halved on loss


def test_timeout_resets_cwnd_to_one_segment():
    trace, conn = bulk_transfer(10000, cut_at=1500, cut_ms=1500)
    cut = [r for r in trace if 1500 <= r[0] <= 3000]
    (reset,) = [r for r in cut if r[1] == MSS][:1]
    before = [r for r in trace if r[0] < reset[0]][-1]
    assert reset[2] >= 2 * MSS  # RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS)
    assert reset[2] <= before[1]
    assert conn.info()["timeouts"] >= 1
    # After the link is back (and the backed-off RTO fires), slow start grows again.
    after = [r for r in trace if r[0] > 3000 and not r[3]]
    assert after and max(r[1] for r in after) > 4 * MSS


def test_cubic_loss_leaves_seven_tenths_and_regrows_along_the_curve():
    trace, conn = bulk_transfer(8000, congestion="cubic", delay_ms=50)
    assert conn.info()["cc"] == "cubic"
    losses = [i for i, r in enumerate(trace) if r[3] and not trace[i - 1][3]]
    assert len(losses) >= 2, trace
    for i in losses:
        # RFC 9438 4.6: ssthresh = 0.7 of the flight (a cwnd-limited sender's cwnd)
        assert 0.65 <= trace[i][2] / trace[i - 1][1] <= 0.75, trace[i - 1:i + 1]
    # The first congestion avoidance stage: from recovery's end to the second loss. Its curve
    # is RFC 9438 eq. 1 and 2, computed here in floats and segments: W_max the cwnd before the
    # loss, cwnd_epoch the ssthresh recovery ended at, C = 0.4 segments/s^3.
    w_max = trace[losses[0] - 1][1] / MSS
    start = next(r for r in trace[losses[0]:] if not r[3])
    stage = [r for r in trace[trace.index(start):losses[1]]]
    w_epoch = start[1] / MSS
    k = ((w_max - w_epoch) / 0.4) ** (1 / 3)

    def w_cubic(t):
        return 0.4 * copysign(abs(t - k) ** 3, t - k) + w_max

    concave = [r for r in stage if (r[0] - start[0]) / 1000 <= k]
    assert len(concave) > 100 and (concave[-1][0] - start[0]) / 1000 > 0.9 * k
    for r in concave:
        # cwnd follows the curve (it steers for W_cubic one RTT ahead, 4.2, from an ACK
        # clock one RTT behind): within 2 segments of it all the way up to the plateau
        assert abs(r[1] / MSS - w_cubic((r[0] - start[0]) / 1000)) <= 2, (r, start, k)
    # the plateau at W_max: around K the window barely grows (concave, then convex)
    near = [r[1] for r in stage if abs((r[0] - start[0]) / 1000 - k) <= 0.3]
    assert near and max(near) - min(near) <= 2 * MSS and abs(near[0] / MSS - w_max) <= 2
