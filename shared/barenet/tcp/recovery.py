"""ACK processing and loss recovery: what an acceptable ACK acknowledges and opens (RFC 9293
3.10.7.4 fifth), duplicate ACKs and fast retransmit with NewReno (RFC 5681, RFC 6582), SACK
loss recovery (RFC 6675) paced by PRR (RFC 6937), and the RACK-TLP glue (RFC 8985): reordering
timer and tail-loss probe.

The algorithms' state lives in congestion.py, sack.py and rack.py; this module drives them from
the TCB and sends through output.
"""

from .. import ticks
from .options import payload_mss
from .output import arm_pto, data_seq, output, retransmit
from .state import FIN, SYN, release, snd_blocks
from .timestamps import rtt


def ack_received(tcb, seg, plen, now):
    """RFC 9293 3.10.7.4 fifth, ESTABLISHED and later, for an ACK input found acceptable:
    what it acknowledges, SACKs and loss, the send window, and what may go out now."""
    ack = seg.ack_off
    una = tcb.snd_una
    wnd = seg.wnd << tcb.snd_wscale
    sb = tcb.sb
    sacked0 = sb.sacked_bytes() if sb is not None else 0
    if una < ack:
        new_ack(tcb, ack, now, rtt(tcb, seg) if tcb.ts is not None else None)
        if tcb.undo is not None:
            tcb.undo.acked(tcb, seg)     # RFC 3708, RFC 3522 (undo.py)
    sacked = 0
    if sb is not None:
        blocks = seg.sack
        if blocks:
            blocks = snd_blocks(tcb, blocks)
            from .undo import dsack     # only ACKs with SACK blocks load it
            dsack(tcb, blocks, ack)     # RFC 2883, RFC 3708
        sacked = sb.update(tcb.snd_una, blocks, tcb.snd_max)
    if tcb.rack is not None:
        rack_ack(tcb, ack, una, sacked, bool(seg.sack), now)
    if ack == una and tcb.snd_max != una:
        if sacked > 0:
            dupack(tcb, now)         # RFC 6675 2: new SACK information is a DupAck
        elif (not seg.sack and plen == 0 and not seg.flags & (SYN | FIN)
              and wnd == tcb.snd_wnd and tcb.snd_wnd):
            dupack(tcb, now)         # RFC 5681 2: the five conditions
    cc = tcb.cc
    entered = False
    # (sb, and cc with it, exist once our first data went out: output.sending)
    if sb is not None and not cc.in_recovery and tcb.snd_max != tcb.snd_una and \
            sack_loss(tcb):
        # RFC 6675 5 (1)-(4); RFC 8985 6.2: RACK marking a segment lost starts it too
        entered = enter_sack_recovery(tcb, now)
    if tcb.ecn is not None:
        tcb.ecn.ack(tcb, seg)        # RFC 3168 6.1.2: ECN-Echo, after a loss this ACK showed
    # window update (RFC 9293 3.10.7.4 fifth): only "if SND.UNA =< SEG.ACK", since the
    # window counts from SEG.ACK and we count it from SND.UNA
    if una <= ack:
        window_update(tcb, seg.seq_off, ack, wnd, now)
    if sb is not None and cc.in_recovery:
        # RFC 6937 3.1 DeliveredData: the change in snd.una plus the change in SACKed bytes
        sack_recovery(tcb, now, entered, tcb.snd_una - una + sb.sacked_bytes() - sacked0)
    output(tcb, now)


def window_update(tcb, s, ack, wnd, now):
    """RFC 9293 3.10.7.4 fifth, for an ACK at or above SND.UNA: take the window wnd (scaled)
    from the segment at offset s unless an older segment than the last update brings it."""
    if tcb.snd_wl1 < s or (tcb.snd_wl1 == s and tcb.snd_wl2 <= ack):
        if wnd > tcb.max_sndwnd:
            tcb.max_sndwnd = wnd
        opened = wnd and not tcb.snd_wnd
        tcb.snd_wnd = wnd
        tcb.snd_wl1 = s
        tcb.snd_wl2 = ack
        if opened and ack == tcb.snd_una and tcb.snd_max != tcb.snd_una:
            # What went past a zero window was a probe the peer need not keep: send it
            # again with what follows it now, not after the probe's timer (as BSD does).
            tcb.snd_nxt = ack
            tcb.rto.reset_backoff()
            tcb.t_rtx = None
        if opened and tcb.persist:
            tcb.persist = False
            tcb.t_rtx = None
            tcb.rto.reset_backoff()
            if tcb.snd_max != tcb.snd_una:
                tcb.t_rtx = ticks.add(now, tcb.rto.value())


def new_ack(tcb, ack, now, ts_rtt=None):
    """ack acknowledges new data; ts_rtt: an RTT sample from its TSecr (RFC 7323 4), which
    times retransmitted segments too and so goes on through loss recovery, where Karn's
    timing (rtt_seq) has none; the Karn sample still feeds RACK's min_RTT."""
    acked = ack - tcb.snd_una
    held = tcb.sndbuf.length
    if acked > held:
        tcb.sndbuf.consume(held)        # the rest acknowledges our FIN
        tcb.fin_acked = True
        release(tcb)
    else:
        tcb.sndbuf.consume(acked)
    tcb.snd_una = ack
    tcb.events += 1                     # room in the send buffer
    if tcb.snd_nxt < ack:
        tcb.snd_nxt = ack               # after a go-back-N rewind
    if tcb.urg is not None and tcb.urg.snd_up is not None:
        tcb.urg.acked(ack)
    if tcb.rtt_seq is not None and ack > tcb.rtt_seq:
        r = ticks.diff(now, tcb.rtt_ts)
        if ts_rtt is None:
            ts_rtt = r
        if tcb.rack is not None:
            tcb.rack.rtt_sample(r)
        tcb.rtt_seq = None
    if ts_rtt is not None:
        tcb.rto.sample(ts_rtt)
    tcb.rtx_count = 0
    tcb.rto.reset_backoff()
    tcb.soft_error = 0
    flight = tcb.snd_max - ack
    # RFC 6298 (5.2), (5.3)
    if not tcb.persist:
        tcb.t_rtx = ticks.add(now, tcb.rto.value()) if flight else None
    if tcb.cc.in_recovery is False:
        tcb.dupacks = 0
    if tcb.cc.on_ack(acked, ack, tcb.snd_max, flight, now):
        retransmit(tcb, ack, now)
    if not tcb.cc.in_recovery:
        tcb.dupacks = 0
    arm_pto(tcb, now)               # RFC 8985 7.2: an ACK that acknowledges new data


def dupack(tcb, now):
    tcb.dupacks += 1
    tcb.tcp.count("rx_dupack")
    flight = tcb.snd_max - tcb.snd_una
    cc = tcb.cc
    ssthresh = cc.ssthresh
    if cc.on_dupack(tcb.dupacks, tcb.snd_una, tcb.snd_max, flight) and \
            tcb.sb is None:
        if tcb.ecn is not None:
            tcb.ecn.hold(cc, ssthresh)
        tcb.tcp.count("fast_retransmit")
        tcb.rtt_seq = None
        retransmit(tcb, tcb.snd_una, now)
    elif tcb.dupacks <= 2 and not tcb.cc.in_recovery and \
            flight + payload_mss(tcb) <= tcb.cc.cwnd + 2 * tcb.mss and not sack_loss(tcb):
        # RFC 3042 Limited Transmit; not on an ACK that starts recovery (a SACK covering
        # DupThresh segments), which sends what PRR allows instead, as Linux does
        output(tcb, now, limit=payload_mss(tcb))


def sack_loss(tcb):
    """RFC 6675 5 (1)-(2) on a SACK connection: the scoreboard's loss criteria, or RFC 8985
    6.2's, RACK marking a segment lost; either starts recovery."""
    sb = tcb.sb
    return sb is not None and (sb.should_enter_recovery(tcb.dupacks, tcb.snd_una) or
                               (tcb.rack is not None and tcb.rack.lost != 0))


def enter_sack_recovery(tcb, now):
    una = tcb.snd_una
    cc = tcb.cc
    cwnd, ssthresh = cc.cwnd, cc.ssthresh
    if not cc.enter_recovery(una, tcb.snd_max, tcb.snd_max - una):
        return False
    if tcb.ecn is not None:
        tcb.ecn.hold(cc, ssthresh)
    from .undo import reduced
    reduced(tcb, cwnd, ssthresh, now)   # RFC 3708, 3522: undone if shown spurious
    tcb.tcp.count("fast_retransmit")
    tcb.rtt_seq = None
    tcb.high_rxt = una
    tcb.t_pto = None                # RFC 8985 7.2: no probes during fast recovery
    if tcb.rack is not None:
        tcb.rack.tlp_end = None
    return True


def sack_recovery(tcb, now, entered=False, delivered=None):
    """RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send what NextSeg picks, and count it as
    PRR's prr_out (RFC 6937 3.1); entered: recovery just began, and (4.3) sends the first
    segment regardless of pipe. The only sender during SACK recovery: output() after it
    finds no room, as flight >= pipe and the loop stops below one SMSS of room.
    delivered: an ACK's DeliveredData, on every ACK in recovery (the one that began it too):
    first cwnd = pipe + PRR's sndcnt, so the loop sends what PRR allows, no burst, no stall;
    None from the RACK timer, which delivers nothing and keeps cwnd (as Linux)."""
    sb = tcb.sb
    cc = tcb.cc
    prr = cc.prr
    mss = payload_mss(tcb)
    una = tcb.snd_una
    rk = tcb.rack
    while True:
        lost_rxt = rk.lost_rxt() if rk is not None else 0
        # A lost retransmission is not in flight, though SetPipe counts it below HighRxt.
        pipe = sb.pipe(una, tcb.snd_max, tcb.high_rxt) - lost_rxt
        if delivered is not None:
            cc.cwnd = pipe + prr.sndcnt(delivered, pipe, cc.ssthresh, mss)
            delivered = None
        if cc.cwnd - pipe < mss and not entered:
            return
        entered = False
        if lost_rxt:
            # RFC 8985 6.2: RACK finds lost retransmissions too; resend them first, they
            # hold the oldest data (as Linux walks its retransmission queue in order).
            sent = retransmit(tcb, una + rk.rxt_start, now, rk.rxt_end - rk.rxt_start)
            if not sent:
                return
            prr.out += sent
            continue
        unsent = tcb.sndbuf.length - (tcb.snd_max - data_seq(tcb))
        room = tcb.snd_wnd - (tcb.snd_max - una)
        if room < unsent:
            unsent = room
        # With RACK-TLP a lost tail is found by time and probes (RFC 8985 6, 7), so the
        # rescue rule (4), which resends the top unSACKed segment blindly, stays off
        # (recover=None), as Linux has no rescue.
        r = sb.next_seg(una, tcb.snd_max, tcb.high_rxt, unsent if unsent > 0 else 0,
                        cc.recover if rk is None else None)
        if r is None:
            return
        start, end = r
        if start < tcb.snd_max:
            sent = retransmit(tcb, start, now, end - start)
            if not sent:
                return
            prr.out += sent
            if sb.rule != 4:
                # RFC 6675 4 (4): a rescue retransmission moves RescueRxt, not HighRxt
                tcb.high_rxt = start + sent
        else:
            before = tcb.snd_max
            output(tcb, now, limit=end - start)
            if tcb.snd_max == before:
                return
            prr.out += tcb.snd_max - before


# -- RACK-TLP (RFC 8985) ----------------------------------------------------------------

def rack_ack(tcb, ack, una, sacked, sack, now):
    """RFC 8985 6.2 per ACK, after the scoreboard took its blocks; 7.4 for the probe."""
    rk = tcb.rack
    cc = tcb.cc
    rk.on_ack(tcb.snd_una, tcb.sb, sacked, now)
    if rk.tlp_ack(ack, una < ack, sack):
        cc.on_tlp_loss()             # RFC 8985 7.4.2: the probe repaired a loss
    wait = rk.detect_loss(tcb.sb, now, tcb.rto.srtt(), cc.in_recovery)
    # RFC 8985 6.3: come back when the segments still inside the window would expire
    tcb.t_reo = ticks.add(now, wait) if wait else None
    if wait:
        tcb.t_pto = None             # RFC 8985 7.2: the reordering timer goes first
    elif una < ack:
        arm_pto(tcb, now)            # new_ack's try may have met the old reo timer


def on_reo_timer(tcb, now):
    rk = tcb.rack
    cc = tcb.cc
    if rk is None or tcb.snd_max == tcb.snd_una:
        return
    wait = rk.detect_loss(tcb.sb, now, tcb.rto.srtt(), cc.in_recovery)
    tcb.t_reo = ticks.add(now, wait) if wait else None
    entered = rk.lost and not cc.in_recovery and enter_sack_recovery(tcb, now)
    if cc.in_recovery:
        sack_recovery(tcb, now, entered)


def on_pto(tcb, now):
    """RFC 8985 7.3: send one probe, new data if the window allows, else the last segment
    again, so that its ACK (with SACK) lets RACK find a tail loss before the RTO."""
    rk = tcb.rack
    if rk is None or tcb.snd_max == tcb.snd_una or tcb.cc.in_recovery:
        return
    tcb.tcp.count("tlp")
    before = tcb.snd_max
    if tcb.snd_nxt == before:
        output(tcb, now, limit=payload_mss(tcb))
    rk.tlp_rxt = tcb.snd_max == before
    if rk.tlp_rxt:
        off = rk.last_start()
        top = before - tcb.snd_una
        if off is None or top - off > payload_mss(tcb):
            off = top - payload_mss(tcb)
        if off < 0:
            off = 0
        if not retransmit(tcb, tcb.snd_una + off, now, top - off):
            return
    rk.tlp_end = tcb.snd_max
    tcb.t_rtx = ticks.add(now, tcb.rto.value())    # RFC 8985 7.3: restart the RTO
