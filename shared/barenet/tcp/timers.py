"""The connection's timers: one poll() runs whichever are due (delayed ACK, RACK reordering,
tail-loss probe, retransmission or persist, keep-alive, the orphaned FIN_WAIT_2) and says when
the next one is; what the retransmission and keep-alive timers do; arming the others.

Deadlines are fields of the TCB on the wrapping ticks clock (None: stopped), compared only
through `ticks`. Output arms the retransmission, persist and probe timers itself.
"""

from .. import ticks
from ..compat import ETIMEDOUT
from .output import acceptable_seq, output, send_segment, send_syn
from .recovery import on_pto, on_reo_timer
from .state import CLOSED, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_2, CLOSE_WAIT, ACK, \
    destroy


def arm_fin_wait2(tcb, now):
    # Linux tcp_fin_timeout: an orphaned FIN_WAIT_2 may otherwise wait forever
    tcb.t_close = ticks.add(now, tcb.tcp.cfg.fin_wait2_ms)


def arm_keepalive(tcb):
    if tcb.keep_idle and tcb.state >= ESTABLISHED:
        tcb.t_keep = ticks.add(tcb.last_rcv, tcb.keep_idle)
    elif tcb.t_keep is not None:     # (a class default while off: tcb.py)
        tcb.t_keep = None


def poll(tcb, now):
    """Send what user calls queued, run due timers; -> ms until the next one, or None."""
    if tcb.output_due:
        user_work(tcb, now)
    if tcb.ack_due or (tcb.t_delack is not None and ticks.due(tcb.t_delack, now)):
        send_segment(tcb, acceptable_seq(tcb), ACK, None, now)   # a delayed ACK
    if tcb.t_reo is not None and ticks.due(tcb.t_reo, now):
        tcb.t_reo = None
        on_reo_timer(tcb, now)
    if tcb.t_pto is not None and ticks.due(tcb.t_pto, now):
        tcb.t_pto = None
        on_pto(tcb, now)
    if tcb.t_rtx is not None and ticks.due(tcb.t_rtx, now):
        tcb.t_rtx = None
        on_rtx_timer(tcb, now)
    if tcb.t_keep is not None and ticks.due(tcb.t_keep, now):
        on_keepalive(tcb, now)
    if tcb.t_close is not None and ticks.due(tcb.t_close, now):
        tcb.t_close = None
        destroy(tcb, ETIMEDOUT)          # an orphaned FIN_WAIT_2 (TIME_WAIT: timewait.py)
    if tcb.state == CLOSED:
        return None
    # The earliest deadline, one timer at a time (a tuple of them would be an allocation)
    wait = _sooner(None, tcb.t_delack, now)
    wait = _sooner(wait, tcb.t_rtx, now)
    wait = _sooner(wait, tcb.t_keep, now)
    wait = _sooner(wait, tcb.t_close, now)
    wait = _sooner(wait, tcb.t_pto, now)
    return _sooner(wait, tcb.t_reo, now)


def _sooner(wait, deadline, now):
    return wait if deadline is None else ticks.earliest(wait, ticks.until(deadline, now))


def user_work(tcb, now):
    # What the user calls queued (tcb.py), done at the poll's time: connect()'s first SYN,
    # then data and FIN through output; an orphaned FIN_WAIT_2 (close() after the FIN was
    # acknowledged) gets its timer.
    tcb.output_due = False
    st = tcb.state
    if st == SYN_SENT:
        if tcb.t_rtx is None:
            send_syn(tcb, now)
        return
    output(tcb, now)
    if st == FIN_WAIT_2 and tcb.user_closed and tcb.t_close is None:
        arm_fin_wait2(tcb, now)


def on_rtx_timer(tcb, now):
    st = tcb.state
    c = tcb.tcp.cfg
    rto = tcb.rto
    if tcb.persist:
        # RFC 9293 3.8.6.1 zero-window probe; its retransmission is the RTO's job
        tcb.persist = False
        tcb.tcp.count("persist_probe")
        rto.backoff()
        output(tcb, now, force=True)
        if tcb.t_rtx is None and tcb.snd_max != tcb.snd_una:
            tcb.t_rtx = ticks.add(now, rto.value())
        return
    tcb.timeouts += 1
    tcb.tcp.count("rto")
    if tcb.rtx_count >= 1 and tcb.listener is None:
        # A second timeout in a row: the next hop's MAC may be wrong (RFC 1122 2.3.2.1).
        # Not for a passive open in the SYN queue: its SYN may be spoofed and then is never
        # answered, and strangers' SYNs must not make us forget the gateway (Linux's request
        # socks give no negative advice either: reqsk_timer_handler).
        tcb.neighbor_suspect = True
    if st == SYN_SENT or st == SYN_RECEIVED:
        tcb.rtx_count += 1
        # A passive open in the SYN queue has its own limit (Linux tcp_synack_retries, kept
        # by the request sock); an active or simultaneous open, tcp_syn_retries.
        passive = tcb.listener is not None
        if tcb.rtx_count > (c.synack_retries if passive else c.syn_retries):
            if passive:
                tcb.tcp.count("synack_timeout")
            destroy(tcb, tcb.soft_error or ETIMEDOUT)
            return
        rto.backoff()
        tcb.retransmits += 1
        send_syn(tcb, now)
        return
    if tcb.snd_max == tcb.snd_una:
        return
    # A peer that keeps answering with a zero window is alive: its probes do not count
    # toward giving up (RFC 9293 3.8.6.1), as long as it answered the last one, which went
    # out at most one (backed off) RTO ago, rto_max at most: "<=", as the answer may come
    # at once (Linux's tcp_retransmit_timer lets rcv_tstamp age up to TCP_RTO_MAX too).
    if tcb.rtx_count == 0:
        # the timer that just fired was armed when this data went out or the last ACK came
        # (RFC 6298 (5.1), (5.3)), one unbacked-off RTO ago
        tcb.stall_start = ticks.add(now, -rto.value())
    if not (tcb.snd_wnd == 0 and ticks.diff(now, tcb.last_rcv) <= c.rto_max_ms):
        tcb.rtx_count += 1
    ut = tcb.user_timeout
    if ut and ticks.diff(now, tcb.stall_start) >= ut:
        # RFC 5482 3: the user timeout replaces the retry count (as Linux's tcp_write_timeout)
        tcb.tcp.count("user_timeout")
        destroy(tcb, tcb.soft_error or ETIMEDOUT)
        return
    if not ut and tcb.rtx_count > c.max_retries:
        destroy(tcb, tcb.soft_error or ETIMEDOUT)
        return
    # RFC 6298 (5.4)-(5.6), RFC 5681 3.1: back off, collapse cwnd, go back N. A probe
    # into a zero window that times out says nothing about congestion: cwnd stays.
    if tcb.snd_wnd:
        cc = tcb.cc
        cwnd, ssthresh = cc.cwnd, cc.ssthresh
        cc.on_timeout(tcb.snd_max - tcb.snd_una, tcb.snd_max)
        if tcb.sb is not None:
            tcb.sb.reset()
            from .undo import reduced
            reduced(tcb, cwnd, ssthresh, now)   # RFC 3708, 3522: a spurious RTO is undone
    tcb.t_pto = tcb.t_reo = None
    if tcb.rack is not None:
        tcb.rack.on_timeout(tcb.snd_max)
    rto.backoff()
    tcb.rtt_seq = None
    tcb.dupacks = 0
    tcb.snd_nxt = tcb.snd_una
    wait = rto.value()
    if ut:
        # the timer fires by the user timeout at the latest (Linux tcp_clamp_rto_to_user_timeout)
        left = ut - ticks.diff(now, tcb.stall_start)
        if left < wait:
            wait = left
    tcb.t_rtx = ticks.add(now, wait)
    output(tcb, now, force=tcb.snd_wnd == 0)


def on_keepalive(tcb, now):
    # RFC 9293 3.8.4 / RFC 1122 4.2.3.6: probe with SEG.SEQ = SND.NXT - 1 and no data
    st = tcb.state
    if not (st == ESTABLISHED or st == CLOSE_WAIT) or tcb.snd_max != tcb.snd_una or \
            tcb.sndbuf.length:
        tcb.t_keep = ticks.add(now, tcb.keep_idle)
        return
    idle = ticks.diff(now, tcb.last_rcv)
    if idle < tcb.keep_idle:
        tcb.t_keep = ticks.add(tcb.last_rcv, tcb.keep_idle)
        return
    if tcb.keep_probes >= tcb.keep_cnt:
        tcb.tcp.count("keepalive_timeout")
        destroy(tcb, ETIMEDOUT)
        return
    tcb.keep_probes += 1
    tcb.tcp.count("keepalive_probe")
    send_segment(tcb, tcb.snd_una - 1, ACK, None, now)
    tcb.t_keep = ticks.add(now, tcb.keep_intvl)
