"""CUBIC congestion avoidance (RFC 9438), plugged into NewReno's window machinery
(congestion.py): NewReno keeps slow start, loss recovery, RTO and window validation, and asks
this object for ssthresh after a congestion event and for cwnd's growth above ssthresh.

Loaded only by connections that select it (TCP_CONGESTION "cubic", the host profile's
default), so a board running NewReno never holds this module. Sans-I/O: the ACK's time comes
in as now (ms on the ticks clock), the RTT from the connection's RTO estimator. Integers only,
in bytes and ms, so no float's precision on a board port decides a window: W_cubic's
C = 0.4 segments/s^3 becomes C * SMSS / 10**9 bytes/ms^3.

    alg = Cubic(rto)
    alg.on_loss(cwnd, flight, mss) -> ssthresh   # RFC 9438 4.6, 4.7 (fast recovery, TLP)
    alg.on_timeout()                             # after on_loss, on an RTO (4.8)
    alg.restart()                                # cwnd restarted after idle (RFC 5681 4.1)
    alg.grow(cwnd, acked, mss, now) -> cwnd      # an ACK in congestion avoidance (4.2-4.5)
"""

from .. import ticks
from ..compat import const

# RFC 9438 4.6: beta_cubic = 0.7, as _BETA_10 / 10
_BETA_10 = const(7)
# RFC 9438 4.3: alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17 while W_est is below
# cwnd_prior, 1 (Reno's rate) after; _ALPHA_17 / 17
_ALPHA_17 = const(9)
# RFC 9438 4.7 fast convergence: W_max = cwnd (1 + beta) / 2 = cwnd * 17 / 20


def icbrt(n):
    """floor(n ** (1/3)) for an int n >= 0, exactly (Newton's method from above)."""
    if n <= 0:
        return 0
    x = 1
    while x * x * x < n:
        x <<= 1
    while True:
        y = (2 * x + n // (x * x)) // 3
        if y >= x:
            return x
        x = y


def k_ms(w_max, cwnd_epoch, mss):
    """RFC 9438 eq. 2: K = cbrt((W_max - cwnd_epoch) / C) s, here in ms, windows in bytes:
    cbrt(dW / (0.4 * mss) * 10**9) ms."""
    return icbrt((w_max - cwnd_epoch) * 2500000000 // mss)


def w_cubic(t, k, w_max, mss):
    """RFC 9438 eq. 1: W_cubic(t) = C (t - K)^3 + W_max, in bytes, t and K in ms."""
    d = t - k
    return w_max + 4 * mss * d * d * d // 10000000000


class Cubic:
    name = "cubic"

    def __init__(self, rto):
        self.rto = rto  # the connection's RTT estimator: the target looks one SRTT ahead (4.2)
        self.w_max = 0  # the window just before the last reduction (4.6, 4.7), bytes
        self.cwnd_prior = 0  # cwnd at the last congestion event, for alpha (4.3)
        self.epoch = None  # when the current congestion avoidance stage began (ticks), or None
        self.k = 0  # ms from the epoch until W_cubic is back at origin
        self.origin = 0  # the W_max this epoch's curve is centred on
        self.w_est = 0  # the Reno-friendly estimate (4.3), bytes
        self._acc = 0  # growth not yet a whole byte, times cwnd (exact fractional carry)
        self._acc_est = 0  # the same for W_est, times 17 * cwnd

    def on_loss(self, cwnd, flight, mss):
        """A congestion event: the new ssthresh (RFC 9438 4.6 with 4.7's fast convergence)."""
        if cwnd < self.w_max:
            # 4.7: a window that did not reach the last W_max saw competition; give way
            self.w_max = cwnd * (10 + _BETA_10) // 20
        else:
            self.w_max = cwnd
        self.cwnd_prior = cwnd
        self.epoch = None  # 4.2: t counts from the next congestion avoidance stage
        # 4.6: ssthresh = flight_size * beta_cubic, at least 2 segments
        ss = flight * _BETA_10 // 10
        return ss if ss > 2 * mss else 2 * mss

    def on_timeout(self):
        """RFC 9438 4.8: after an RTO the next stage starts its curve at its own cwnd (K = 0,
        W_max = cwnd at the start of that stage), with ssthresh already from on_loss."""
        self.w_max = 0
        self.epoch = None

    def restart(self):
        # After an idle restart (RFC 5681 4.1) the time since the old epoch says nothing about
        # the path (RFC 9438 5.8): start a new stage from the restarted window.
        self.epoch = None

    def grow(self, cwnd, acked, mss, now):
        """acked bytes were acknowledged in congestion avoidance: the new cwnd."""
        if self.epoch is None:
            # The stage's first ACK (4.2): t = 0, the curve through this cwnd
            self.epoch = now
            self.w_est = cwnd  # 4.3: W_est = cwnd_epoch
            self._acc = self._acc_est = 0
            if self.w_max > cwnd:
                self.k = k_ms(self.w_max, cwnd, mss)
                self.origin = self.w_max
            else:
                self.k = 0
                self.origin = cwnd
        t = ticks.diff(now, self.epoch)
        # 4.3 eq. 4: W_est += alpha * segments_acked / cwnd (segments), here in bytes
        acc = self._acc_est + (_ALPHA_17 if self.w_est < self.cwnd_prior else 17) * mss * acked
        inc = acc // (17 * cwnd)
        self.w_est += inc
        self._acc_est = acc - inc * 17 * cwnd
        if w_cubic(t, self.k, self.origin, mss) < self.w_est:
            # 4.3: the Reno-friendly region (never below cwnd: growth is not a reduction)
            return self.w_est if self.w_est > cwnd else cwnd
        # 4.4, 4.5: toward target = W_cubic(t + RTT), within [cwnd, 1.5 cwnd], by
        # (target - cwnd) / cwnd per segment acknowledged
        target = w_cubic(t + self.rto.srtt(), self.k, self.origin, mss)
        if target < cwnd:
            target = cwnd
        elif target > cwnd + (cwnd >> 1):
            target = cwnd + (cwnd >> 1)
        acc = self._acc + (target - cwnd) * acked
        inc = acc // cwnd
        self._acc = acc - inc * cwnd
        return cwnd + inc

    def info(self):
        return {"cc": "cubic", "cubic_w_max": self.w_max, "cubic_k_ms": self.k, "cubic_epoch": self.epoch,
                "cubic_origin": self.origin, "cubic_w_est": self.w_est}
