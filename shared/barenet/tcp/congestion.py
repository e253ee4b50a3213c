"""TCP congestion control: NewReno (RFC 5681, RFC 6582) with byte counting (RFC 3465), the
window machinery that CUBIC (cubic.py, RFC 9438) plugs into, and PRR (prr.py, RFC 6937) for
SACK recovery.

Sans-I/O: the connection code reports ACK events, this object keeps cwnd/ssthresh and answers
"retransmit now?"; it never sends, never reads a clock and allocates nothing per ACK. Sequence
numbers are 32-bit values or a connection's offsets from its base (tcp/state.py), compared only
through tcp.seq, which takes both; a connection that moves its base calls rebase(d).

The connection code calls:

    cc = NewReno(mss, initial_window=None, sack=False)
        # cwnd starts at the RFC 6928 IW; sack=True selects RFC 6675 recovery (see below).
    cc.on_ack(acked, snd_una, snd_nxt, flight, now=0) -> bool
        # every ACK that advances snd_una. snd_una is the NEW value, acked the bytes it advanced,
        # flight the bytes still outstanding after it, now the ACK's time (ms, ticks; CUBIC's
        # clock). True: retransmit the segment at snd_una (NewReno partial ACK, RFC 6582 3.2
        # (5)). Restart the RTO timer as RFC 6298 (5.3) says.
    cc.on_dupack(count, snd_una, snd_nxt, flight) -> bool
        # every duplicate ACK (RFC 5681 2), count = the running duplicate count (1, 2, 3, ...).
        # True: fast-retransmit the segment at snd_una now. Limited Transmit (RFC 3042) on the
        # first two is the caller's. With sack=True it never enters recovery (see below).
    cc.enter_recovery(snd_una, snd_nxt, flight) -> bool
        # SACK senders' only way in: call it when Scoreboard.should_enter_recovery(dupacks,
        # snd_una) is true (RFC 6675 5 (1), (2)); True: retransmit snd_una, high_rxt = its end.
    cc.on_timeout(flight, snd_max)     # the RTO fired; snd_max = highest sequence sent + 1
    cc.on_idle(idle_ms, rto_ms)        # before sending after a quiet period (ticks.diff)
    cc.on_tlp_loss()                   # a tail loss probe repaired a loss (RFC 8985 7.4.2)
    cc.on_sent(flight, snd_una, snd_nxt, cwnd_limited)
        # once per output pass that sent something or was stopped by cwnd: flight is what is
        # outstanding after it, cwnd_limited whether cwnd (not the peer's window, not the
        # application) kept data back. Once called, cwnd grows only while it is being used
        # (see on_sent); a sender that never calls it grows cwnd on every ACK.
    cc.rebase(d)                       # the caller's offsets all moved down by d
    cc.alg                             # the algorithm above Reno's (algorithms.select)
    cc.cwnd, cc.ssthresh, cc.in_recovery, cc.recover, cc.prr, cc.info()

Send rule for the caller: new data while flight < cwnd (RFC 5681 3.1). With sack=True,
recovery follows RFC 6675 with PRR (RFC 6937): on_ack never asks for a retransmission, cc.prr
(started here on entering recovery) gives cwnd = pipe + sndcnt on every ACK, the caller sends
what Scoreboard.next_seg() picks while cwnd - pipe >= mss (RFC 6675 5 (C)) and adds what it
sent to cc.prr.out; a full ACK leaves cwnd = ssthresh. So set sack=True only together with a
Scoreboard; the SACK option alone does not need it. Peers without SACK get NewReno's recovery.

Algorithms (issue 14 item 4): the increase above ssthresh and the ssthresh a congestion event
leaves are the algorithm's; all else (slow start, recovery, RTO, validation) is this class's.
alg None is Reno, inline, so the board profile's default pays no call per ACK; "cubic" loads
cubic.Cubic (whose docstring gives the hooks) on the first connection that asks for it
(algorithms.py, by name).

The slow-start increase per ACK (issue 14 item 7) is min(acked, 2 * SMSS): RFC 3465 2.2 byte
counting with L = 2. RFC 5681 3.1's "at most SMSS per ACK" grows cwnd by only 1.5 per RTT
behind a receiver that delays its ACKs (one per two segments), and Linux's packet counting
(tcp_slow_start: cwnd += segments acked, no cap) doubles but lets a stretch ACK for ten
segments open cwnd by ten at once, a line-rate burst. L = 2 doubles per RTT with delayed
ACKs, as Linux does, and bounds what one ACK releases, the risk RFC 3465 3.2 names. Tests:
test_slow_start_doubles_with_delayed_acks, test_stretch_ack_is_capped_in_slow_start.
"""

from ..compat import oserror, const, EINVAL
from . import seq

# "Arbitrarily high" initial ssthresh (RFC 5681 3.1) and the cwnd ceiling: the largest
# MicroPython small int on 32-bit ports, so cwnd arithmetic never allocates.
INFINITE = const(0x3FFFFFFF)
_DUPTHRESH = const(3)  # RFC 5681 3.2
_ABC_L = const(2)  # RFC 3465 2.2: slow start grows by at most L*SMSS per ACK

# Minimum seq.sub(snd_una, recover) before a new recovery may start (0 = no guard).
_GUARD_NEWRENO = const(2)  # RFC 6582 3.2 (2): snd_una - 1 must be above recover
_GUARD_SACK_RTO = const(1)  # RFC 6675 5.1: HighACK >= RecoveryPoint


class NewReno:
    def __init__(self, mss, initial_window=None, sack=False):
        if mss <= 0:
            raise oserror(EINVAL)
        self.mss = mss
        if initial_window is None:
            # RFC 6928 2
            initial_window = min(10 * mss, max(2 * mss, 14600))
        self.initial_window = initial_window
        self.sack = sack
        self.cwnd = initial_window
        self.ssthresh = INFINITE
        self.in_recovery = False
        # RFC 6582 3.2 (1) initialises recover to the ISN; the guard below stays off until a
        # recovery or timeout sets recover, so the loss of the very first segment still gets a
        # fast retransmit (as FreeBSD does) and no stale value is compared after 2**31 bytes.
        self.recover = 0
        self._guard = 0
        self._bytes_acked = 0  # RFC 3465 2.1
        self._rto_repeat = False  # the last event was a timeout not yet followed by an ACK
        # Congestion-window validation (see on_sent), off until the first on_sent call.
        self._validate = False
        self._max_flight = 0  # the largest flight of the current window of data
        self._cwnd_limited = False  # a send in the current window was stopped by cwnd
        self._usage_seq = 0  # snd_nxt when the current window of data started
        self.fast_retransmits = 0
        self.partial_acks = 0
        self.timeouts = 0
        self.guarded = 0  # recoveries refused by the RFC 6582 / RFC 6675 5.1 guard
        self.tlp_losses = 0  # losses a tail loss probe repaired (RFC 8985 7.4.2)
        self.alg = None  # the algorithm above Reno's (algorithms.select); None: Reno
        self.prr = None  # RFC 6937 state, from the first SACK recovery on (prr.py)

    def on_ack(self, acked, snd_una, snd_nxt, flight_size, now=0):
        """An ACK advanced snd_una by acked bytes; True means retransmit the segment at snd_una."""
        self._rto_repeat = False
        if self._guard and seq.sub(snd_una, self.recover) >= self._guard:
            # Past the guard for good: forget recover so it is never compared after a wrap.
            self._guard = 0
        mss = self.mss
        cwnd = self.cwnd
        if self.in_recovery:
            if seq.gt(snd_una, self.recover):
                # Full ACK: RFC 6582 3.2 (3) option (1). RFC 6675 leaves cwnd = ssthresh.
                self.in_recovery = False
                self._bytes_acked = 0
                if self.sack:
                    self.cwnd = self.ssthresh  # RFC 6937 3.1: the reduction's end
                else:
                    self.cwnd = min(self.ssthresh, max(flight_size, mss) + mss)
                return False
            if self.sack:
                # RFC 6937: the caller sets cwnd from cc.prr; its NextSeg loop picks what to send.
                return False
            # Partial ACK, RFC 6582 3.2 (5): deflate by what left the network, add back one
            # SMSS if at least that much was acknowledged, and retransmit the next hole.
            cwnd -= acked
            if acked >= mss:
                cwnd += mss
            self.cwnd = cwnd if cwnd > mss else mss
            self.partial_acks += 1
            return True
        if self._validate and not self._cwnd_used(cwnd):
            return False
        if cwnd < self.ssthresh:
            # RFC 5681 3.1 slow start with RFC 3465 2.2 byte counting (L = 2)
            cwnd += acked if acked < _ABC_L * mss else _ABC_L * mss
        elif self.alg is not None:
            cwnd = self.alg.grow(cwnd, acked, mss, now)
        else:
            # RFC 3465 2.1: one SMSS per cwnd bytes acknowledged (about one SMSS per RTT).
            ba = self._bytes_acked + acked
            if ba >= cwnd:
                ba -= cwnd
                cwnd += mss
                if ba > cwnd:
                    # A stretch ACK earns one SMSS, not a burst; bound the carry.
                    ba = cwnd
            self._bytes_acked = ba
        self.cwnd = cwnd if cwnd < INFINITE else INFINITE
        return False

    def on_sent(self, flight_size, snd_una, snd_nxt, cwnd_limited):
        """An output pass sent data (flight_size now outstanding) or was stopped by cwnd.

        RFC 7661 1-3: a cwnd the application never filled was never validated by the path,
        and growing it on every ACK lets a later bulk send burst a window the path never
        carried. As Linux (tcp_cwnd_validate), track per window of data -- until snd_una
        passes the snd_nxt of the window's start -- the largest flight and whether cwnd
        stopped a send; a cwnd-limited pass, or a larger flight in a window that was not
        cwnd-limited, starts the record afresh so the strongest signal counts.
        """
        self._validate = True
        if (cwnd_limited or not seq.lt(snd_una, self._usage_seq)
                or (not self._cwnd_limited and flight_size > self._max_flight)):
            self._cwnd_limited = cwnd_limited
            self._max_flight = flight_size
            self._usage_seq = snd_nxt

    def _cwnd_used(self, cwnd):
        # Linux tcp_is_cwnd_limited: congestion avoidance grows only a window that limited
        # the sender; slow start also while cwnd is below twice the largest flight, so an
        # application-limited sender still gets room for its next burst (RFC 7661 4.1).
        if self._cwnd_limited:
            return True
        return cwnd < self.ssthresh and cwnd < 2 * self._max_flight

    def on_dupack(self, count, snd_una, snd_nxt, flight_size):
        """A duplicate ACK (the count-th in a row); True means fast-retransmit snd_una now."""
        if self.in_recovery:
            if not self.sack:
                # RFC 6582 3.2 (4): each further duplicate means a segment left the network.
                cwnd = self.cwnd + self.mss
                self.cwnd = cwnd if cwnd < INFINITE else INFINITE
            return False
        if self.sack or count < _DUPTHRESH:
            # SACK senders enter through enter_recovery(), where the caller also resets its
            # HighRxt: one way in, so that step cannot be missed.
            return False
        return self.enter_recovery(snd_una, snd_nxt, flight_size)  # RFC 5681 3.2 (2)

    def enter_recovery(self, snd_una, snd_nxt, flight_size):
        """Fast retransmit and enter recovery; False if already in it or the guard refuses."""
        if self.in_recovery:
            return False
        if self._guard and seq.sub(snd_una, self.recover) < self._guard:
            # RFC 6582 3.2 (2): these duplicates may stem from our own retransmissions of data
            # the receiver already had, so they are no sign of a new loss.
            self.guarded += 1
            return False
        mss = self.mss
        ssthresh = self._loss_ssthresh(flight_size)
        self.ssthresh = ssthresh
        # RFC 6582 3.2 (2) / RFC 6675 5 (4.1): the highest sequence number transmitted.
        self.recover = seq.add(snd_nxt, -1)
        self.in_recovery = True
        self._bytes_acked = 0
        if self.sack:
            # RFC 6675 has no re-entry guard after a normal recovery: SACK tells real holes.
            # cwnd = ssthresh until the caller's first PRR step (a RACK timer's entry has none)
            self.cwnd = ssthresh
            self._guard = 0
            if self.prr is None:
                from .prr import PRR
                self.prr = PRR()
            self.prr.start(seq.sub(snd_nxt, snd_una))  # RFC 6937 3.1: RecoverFS
        else:
            # RFC 6582 3.2 (2): three segments have left the network.
            self.cwnd = ssthresh + 3 * mss
            self._guard = _GUARD_NEWRENO
        self.fast_retransmits += 1
        return True

    def on_timeout(self, flight_size, snd_max=None):
        """The retransmission timer fired.

        snd_max is the highest sequence number sent + 1 (not a snd_nxt rewound for go-back-N);
        without it the RFC 6582 / RFC 6675 5.1 guard against re-entering recovery on the
        duplicates that go-back-N provokes is not armed.
        """
        mss = self.mss
        self.timeouts += 1
        if not self._rto_repeat:
            # RFC 5681 3.1: when the same segment times out again, ssthresh is held constant.
            self.ssthresh = self._loss_ssthresh(flight_size)
            self._rto_repeat = True
            if self.alg is not None:
                self.alg.on_timeout()
        self.cwnd = mss  # RFC 5681 3.1: LW = 1 full-sized segment
        self.in_recovery = False
        self._bytes_acked = 0  # RFC 3465 2.1
        if snd_max is not None:
            # RFC 6582 3.2 (final paragraph); RFC 6675 5.1
            self.recover = seq.add(snd_max, -1)
            self._guard = _GUARD_SACK_RTO if self.sack else _GUARD_NEWRENO

    def on_tlp_loss(self):
        """RFC 8985 7.4.2: a retransmitted tail loss probe repaired a loss that no recovery
        saw; reduce as for a loss (Linux tcp_process_tlp_ack: ssthresh from cwnd, as Reno)."""
        self.cut()
        self.tlp_losses += 1

    def cut(self):
        """Reduce cwnd into ssthresh, for a congestion signal outside loss recovery: a TLP's
        repaired loss, an ECN-Echo (RFC 3168 6.1.2: as for a loss; the algorithm's own
        reduction, as Linux's tcp_enter_cwr takes its ssthresh)."""
        self.ssthresh = self._loss_ssthresh(self.cwnd)
        self.cwnd = self.ssthresh
        self._bytes_acked = 0

    def _loss_ssthresh(self, flight_size):
        """ssthresh after a congestion event: the algorithm's, or Reno's half of FlightSize
        (RFC 5681 (4); RFC 6675 5 (4.2) halves it the same way)."""
        if self.alg is not None:
            return self.alg.on_loss(self.cwnd, flight_size, self.mss)
        return max(flight_size // 2, 2 * self.mss)

    def rebase(self, d):
        """The connection moved its sequence base up by d: so do the offsets kept here."""
        self.recover -= d
        self._usage_seq -= d

    def on_idle(self, idle_ms, rto_ms):
        """Nothing was sent for idle_ms; RFC 5681 4.1 restarts from RW = min(IW, cwnd)."""
        if idle_ms > rto_ms and self.cwnd > self.initial_window:
            self.cwnd = self.initial_window
            if self.alg is not None:
                self.alg.restart()

    def info(self):
        d = {
            "cwnd": self.cwnd,
            "ssthresh": self.ssthresh,
            "in_recovery": self.in_recovery,
            "recover": self.recover,
            "fast_retransmits": self.fast_retransmits,
            "partial_acks": self.partial_acks,
            "timeouts": self.timeouts,
            "guarded": self.guarded,
            "tlp_losses": self.tlp_losses,
            "cwnd_limited": self._cwnd_limited,
            "max_flight": self._max_flight,
        }
        # issue 14 items 3, 4: the algorithm, its variables, PRR's state (cc helper's block)
        d["cc"] = "reno"
        if self.alg is not None:
            d.update(self.alg.info())
        if self.prr is not None:
            d.update(self.prr.info())
        return d


def for_connection(tcb):
    """The congestion control a connection starts with: NewReno, with the algorithm its
    TCP_CONGESTION or the profile names plugged in (algorithms.py, not loaded for "reno")."""
    cc = NewReno(tcb.mss, sack=tcb.sack_ok)
    name = tcb.congestion or tcb.tcp.cfg.congestion
    if name != "reno":
        from .algorithms import select
        select(cc, name, tcb.rto)
    return cc
