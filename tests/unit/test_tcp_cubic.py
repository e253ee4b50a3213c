"""CUBIC (RFC 9438) in cubic.py, through NewReno's window machinery (congestion.py), against
the RFC's formulas written out here independently: floats, segments and seconds, where the
module works in integer bytes and ms. Plus the algorithm switch and the profiles' defaults,
and CUBIC's window after a loss and its regrowth as a script on barenet and on Linux.
"""

import pytest

from barenet.config import Config
from barenet.tcp import cubic
from barenet.tcp.algorithms import select
from barenet.tcp.congestion import NewReno
from barenet.tcp.rtt import RTO
from tcp_script import script  # noqa: F401 (fixture)
from test_tcp_prr import MSS as SEG, RTT, dupack, prr_script, seg

MSS = 1000
C, BETA = 0.4, 0.7                              # RFC 9438 4.1, 4.6
ALPHA = 3 * (1 - BETA) / (1 + BETA)             # RFC 9438 4.3


class RFC9438:
    """Sections 4.2-4.8 as the RFC writes them, in segments and seconds."""

    def __init__(self):
        self.w_max = 0.0
        self.cwnd_prior = 0.0
        self.epoch = None

    def loss(self, cwnd, flight):
        self.w_max = cwnd * (1 + BETA) / 2 if cwnd < self.w_max else cwnd      # 4.7
        self.cwnd_prior = cwnd
        self.epoch = None
        return max(flight * BETA, 2)                                             # 4.6

    def ack(self, cwnd, t_s, rtt_s):
        """One segment acknowledged at t_s in congestion avoidance: the new cwnd."""
        if self.epoch is None:
            self.epoch = t_s
            self.w_est = cwnd
            if self.w_max > cwnd:
                self.k = ((self.w_max - cwnd) / C) ** (1 / 3)                    # eq. 2
                self.origin = self.w_max
            else:
                self.k, self.origin = 0.0, cwnd
        t = t_s - self.epoch
        self.w_est += (ALPHA if self.w_est < self.cwnd_prior else 1) / cwnd      # eq. 4
        if self.w_cubic(t) < self.w_est:
            return max(self.w_est, cwnd)
        target = min(max(self.w_cubic(t + rtt_s), cwnd), 1.5 * cwnd)             # 4.4, 4.5
        return cwnd + (target - cwnd) / cwnd

    def w_cubic(self, t):
        return C * (t - self.k) ** 3 + self.origin                               # eq. 1


def cubic_cc(rtt_ms):
    rto = RTO()
    rto.sample(rtt_ms)
    cc = NewReno(MSS, sack=True)
    select(cc, "cubic", rto)
    return cc


def loss_then_recover(cc, cwnd_segs, now=0):
    """cwnd_segs in flight, a loss, SACK recovery, its full ACK: cwnd = ssthresh."""
    una, nxt = 0, cwnd_segs * MSS
    cc.cwnd = nxt
    assert cc.enter_recovery(una, nxt, nxt)
    cc.on_ack(nxt, nxt, nxt, 0, now)
    assert not cc.in_recovery and cc.cwnd == cc.ssthresh


def avoid(cc, model, w, rtt_ms, start_ms, seconds):
    """Congestion avoidance for seconds: each RTT the whole window is acknowledged one segment
    at a time, evenly spread; -> [(ms, barenet cwnd in segments, the RFC's)]."""
    out = []
    una = 10 ** 6
    t = start_ms
    while t < start_ms + seconds * 1000:
        n = cc.cwnd // MSS
        for j in range(n):
            now = t + rtt_ms * j // n
            una += MSS
            cc.on_ack(MSS, una, una + cc.cwnd, cc.cwnd, now)
            w = model.ack(w, now / 1000, rtt_ms / 1000)
        t += rtt_ms
        out.append((t, cc.cwnd / MSS, w))
    return out


def test_icbrt_is_the_exact_floor():
    for n in list(range(200)) + [10 ** 9, 2 ** 62 + 5, 3 ** 60 - 1, 3 ** 60, 7 ** 33 + 1]:
        x = cubic.icbrt(n)
        assert x ** 3 <= n < (x + 1) ** 3, n


@pytest.mark.parametrize("w_max, w_epoch", [(100, 70), (1000, 700), (20, 14), (11, 10)])
def test_k_and_w_cubic_match_the_rfc(w_max, w_epoch):
    k = ((w_max - w_epoch) / C) ** (1 / 3) * 1000                       # eq. 2, in ms
    k_ms = cubic.k_ms(w_max * MSS, w_epoch * MSS, MSS)
    assert abs(k_ms - k) <= 1
    for t in (0, 500, int(k), 2 * int(k) + 300):
        w = C * ((t - k_ms) / 1000) ** 3 + w_max                        # eq. 1
        assert abs(cubic.w_cubic(t, k_ms, w_max * MSS, MSS) - w * MSS) <= 1


def test_loss_leaves_seven_tenths_and_fast_convergence_lowers_w_max():
    cc = cubic_cc(100)
    loss_then_recover(cc, 100)
    assert cc.ssthresh == 70 * MSS and cc.alg.w_max == 100 * MSS       # 4.6
    # the next loss comes below W_max: competition; W_max = cwnd (1 + beta) / 2 (4.7)
    loss_then_recover(cc, 80)
    assert cc.ssthresh == 56 * MSS and cc.alg.w_max == 68 * MSS
    i = cc.info()
    assert i["cc"] == "cubic" and i["cubic_w_max"] == 68 * MSS and i["cubic_epoch"] is None


@pytest.mark.parametrize("rtt_ms, w_max", [(100, 100), (200, 300)])
def test_concave_then_convex_growth_follows_the_rfc(rtt_ms, w_max):
    cc = cubic_cc(rtt_ms)
    model = RFC9438()
    loss_then_recover(cc, w_max, now=0)
    w = model.loss(w_max, w_max)
    assert w * MSS == cc.cwnd
    k = ((w_max - w) / C) ** (1 / 3)
    trace = avoid(cc, model, w, rtt_ms, 0, 2 * k + 1)
    for t, mine, rfc in trace:
        assert abs(mine - rfc) <= 0.02 * rfc + 0.5, (t, mine, rfc)
    assert cc.info()["cubic_k_ms"] == pytest.approx(k * 1000, abs=1)
    # concave up to W_max by K, a plateau around it, convex past it
    at_k = [m for t, m, _ in trace if abs(t / 1000 - k) <= rtt_ms / 1000]
    assert at_k and all(abs(m - w_max) <= 0.02 * w_max for m in at_k)
    assert trace[-1][1] > 1.1 * w_max
    assert cc.alg.w_est < cc.cwnd                   # the cubic region, not Reno's


def test_reno_friendly_region_on_a_short_rtt():
    # RTT 5 ms, W_max 20: W_cubic needs K = 2.5 s to come back, while Reno's estimate grows
    # alpha segments per RTT; CUBIC follows W_est (4.3), then at Reno's rate (alpha = 1)
    # once W_est passes cwnd_prior.
    cc = cubic_cc(5)
    model = RFC9438()
    loss_then_recover(cc, 20)
    w = model.loss(20, 20)
    trace = avoid(cc, model, w, 5, 0, 0.5)
    for t, mine, rfc in trace:
        assert abs(mine - rfc) <= 0.02 * rfc + 0.5, (t, mine, rfc)
    assert cc.cwnd == cc.alg.w_est
    # 6 segments at 9/17 per RTT take ~11 RTTs, then one per RTT
    assert 20 + (100 - 12) * 0.8 <= cc.cwnd / MSS <= 20 + (100 - 11) * 1.05


def test_timeout_restarts_the_curve_from_its_own_window():
    # RFC 9438 4.8: after an RTO ssthresh takes beta, cwnd = 1 SMSS (RFC 5681), and the
    # first congestion avoidance stage has K = 0, W_max = the cwnd it starts at.
    cc = cubic_cc(100)
    cc.cwnd = 50 * MSS
    cc.on_timeout(50 * MSS, 50 * MSS)
    assert cc.ssthresh == 35 * MSS and cc.cwnd == MSS and cc.alg.w_max == 0
    cc.cwnd = cc.ssthresh
    cc.on_ack(MSS, 100 * MSS, 130 * MSS, 30 * MSS, 5000)
    assert cc.alg.k == 0 and cc.alg.origin == 35 * MSS and cc.alg.epoch == 5000


def test_idle_restart_starts_a_new_epoch():
    cc = cubic_cc(100)
    loss_then_recover(cc, 40)
    cc.on_ack(MSS, 10 ** 6, 2 * 10 ** 6, cc.cwnd, 1000)
    assert cc.alg.epoch == 1000
    cc.on_idle(5000, 1000)                          # RFC 5681 4.1: restart from IW
    assert cc.cwnd == cc.initial_window and cc.alg.epoch is None


def test_switching_keeps_the_window_and_names_are_linux_s():
    cc = NewReno(MSS)
    cc.cwnd, cc.ssthresh = 33 * MSS, 20 * MSS
    select(cc, "cubic", RTO())
    assert cc.info()["cc"] == "cubic" and (cc.cwnd, cc.ssthresh) == (33 * MSS, 20 * MSS)
    alg = cc.alg
    select(cc, "cubic", RTO())
    assert cc.alg is alg                            # the same name changes nothing
    select(cc, "reno", RTO())
    assert cc.alg is None and cc.info()["cc"] == "reno"
    with pytest.raises(OSError) as e:
        select(cc, "newreno", RTO())
    assert e.value.errno == 2                       # ENOENT, as Linux


def test_profiles_default_cubic_on_a_host_reno_on_a_board():
    assert Config("host").congestion == "cubic" and Config("board").congestion == "reno"
    from barenet.stack import Stack
    with pytest.raises(ValueError):
        Stack("host", congestion="vegas")


def test_cubic_is_not_loaded_by_a_board():
    # Board RAM (BENCHMARKS "Memory on boards"): NewReno connections never import cubic.py,
    # nor the choosing by name (algorithms.py), nor PRR before their first SACK recovery
    import subprocess
    import sys
    code = ("import sys; from barenet.stack import Stack; import barenet.tcp; "
            "Stack('board'); print('barenet.tcp.cubic' in sys.modules, "
            "'barenet.tcp.prr' in sys.modules, 'barenet.tcp.algorithms' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


# -- on both targets ------------------------------------------------------------------------


def test_cubic_window_after_a_loss_and_its_growth(script):
    # 20 segments in flight, one lost (test_tcp_prr's opening): ssthresh = 0.7 * 20 = 14
    # segments (RFC 9438 4.6; Linux: 20 * 717 / 1024). Then congestion avoidance, the whole
    # window acknowledged every RTT: W_max = 20, K = cbrt(6 / 0.4) = 2.47 s, so about 1.3 s
    # later cwnd has come most of the way back (W_cubic(1.3 s) = 19.4) but not past W_max:
    # the concave approach. Reno would be near 15 (10, and one segment per round).
    s, c = prr_script(script, "cubic")
    c.send(b"q" * (200 * SEG))                      # enough to stay cwnd-limited
    dupack(s, 14)
    s.wait(RTT)
    sent = s.take()
    top = max(f["TCP"].seq for _, f in sent) - s.offsets[(80, 40000)] + SEG if sent else seg(30)
    s.inject("A", seq=1001, ack=top)                # the full ACK: recovery ends
    t0 = s.now
    rounds = 0
    while s.now - t0 < 1300 and rounds < 12:
        s.wait(RTT // 4)
        out = sorted({f["TCP"].seq - s.offsets[(80, 40000)] for _, f in s.take()})
        s.wait(RTT)
        for q in out:
            s.inject("A", seq=1001, ack=q + SEG)
        rounds += 1
    i = c.info()
    assert i["ssthresh"] == 14 * SEG, i
    assert 17.5 * SEG <= i["cwnd"] <= 20.5 * SEG, (i, rounds)
    if not s.linux:
        assert i["cubic_w_max"] == 20 * SEG and abs(i["cubic_k_ms"] - 2466) <= 1
