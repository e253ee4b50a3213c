"""Output (RFC 9293 3.8.6, RFC 5681, RFC 896): what to send now, cut into segments, and the
emission of one segment; retransmission of one segment, the persist probe, the window we
advertise, the RST that aborts, and the timers that follow what went out (retransmission,
persist, tail-loss probe).

Nothing here takes in an ACK or runs when a timer fires: recovery, timers and input decide
when to call in.
"""

from .. import ticks
from ..compat import ECONNABORTED, ENOBUFS
from ..wire import tcp as wire
from . import seq
from . import timestamps
from .congestion import for_connection
from .options import max_window, payload_mss, sack_blocks, syn_offer
from .rack import RACK, WCDELACK_MS
from .sack import Scoreboard
from .state import SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT, TIME_WAIT, FIN, SYN, RST, PSH, ACK, \
    URG, destroy, in_data_states, rcv_blocks


def data_seq(tcb):
    """Sequence number of the first byte in the send buffer."""
    return tcb.snd_una if tcb.snd_una != tcb.iss else tcb.iss + 1


def output(tcb, now, force=False, limit=0):
    """Send what the windows, Nagle and SWS avoidance allow (RFC 9293 3.8.6.2.1, RFC 896,
    RFC 5681). force: a persist probe (one byte into a zero window, or what fits).
    limit: send exactly one new segment of at most limit bytes (SACK recovery's NextSeg
    rule 2), window permitting but regardless of cwnd."""
    st = tcb.state
    if st < ESTABLISHED or st == TIME_WAIT:
        return
    sb = tcb.sndbuf
    mss = payload_mss(tcb)
    # With TSO one segment carries as many whole MSS-sized pieces as the NIC takes (room for
    # 20 bytes of IP and 60 of TCP header): it cuts them apart, each behind a copy of our
    # header. Every rule below (SWS, Nagle, the windows) still counts in MSS.
    most = mss
    if tcb.tso_max:
        most = (tcb.tso_max - 80) // mss * mss
        if most < mss:
            most = mss
    if sb.length == 0 and not tcb.fin_queued:
        return
    cc = tcb.cc
    if cc is None:
        cc = sending(tcb, now)
        if cc is None:
            return
    if tcb.snd_max == tcb.snd_una and ticks.diff(now, tcb.last_snd) > tcb.rto.value():
        cc.on_idle(ticks.diff(now, tcb.last_snd), tcb.rto.value())   # RFC 5681 4.1
    sent = cwnd_limited = False
    while True:
        base = data_seq(tcb)
        off = tcb.snd_nxt - base
        avail = sb.length - off
        fin = tcb.fin_queued and not tcb.fin_acked and avail >= 0 and \
            tcb.snd_nxt <= base + sb.length
        if avail <= 0 and not fin:
            break
        if avail < 0:
            avail = 0
        flight = tcb.snd_nxt - tcb.snd_una
        win = tcb.snd_wnd if tcb.snd_wnd < cc.cwnd or limit else cc.cwnd
        usable = win - flight
        if limit and usable > limit:
            usable = limit
        n = avail if avail < most else most
        if n > mss and tcb.ecn is not None and tcb.ecn.cwr:
            n = mss     # RFC 3168 6.1.2: CWR on one segment, not on every piece a NIC cuts
        if force:
            n = min(n, max(usable, 1))
        elif n > usable:
            # cwnd, not the peer's window, kept data back (RFC 7661, see NewReno.on_sent)
            cwnd_limited = not limit and cc.cwnd <= tcb.snd_wnd
            n = usable if usable > 0 else 0
        if not force and n < mss and n < avail:
            # window-limited short segment: sender SWS avoidance (RFC 9293 3.8.6.2.1)
            if n == 0 or n < (tcb.max_sndwnd >> 1):
                maybe_persist(tcb, now, avail)
                break
        elif (not force and n and n < mss and flight and not tcb.nodelay and not tcb.fin_queued
              and tcb.snd_nxt == tcb.snd_max):
            break       # Nagle (RFC 896, RFC 1122 4.2.3.4): one small segment in flight
        send_fin = fin and n == avail
        if n == 0 and not send_fin:
            break
        flags = ACK
        if send_fin:
            flags |= FIN
        if n and off + n == sb.length:
            flags |= PSH
        sq = tcb.snd_nxt
        send_segment(tcb, sq, flags, sb.view(off, n) if n else None, now,
                     gso=mss if n > mss else 0)
        force = False
        sent = True
        nxt = sq + n + (1 if send_fin else 0)
        if tcb.rack is not None:
            tcb.rack.on_send(sq, nxt, now)
        if sq < tcb.snd_max:
            tcb.retransmits += 1
            tcb.tcp.count("rtx_segs")
        elif tcb.rtt_seq is None:
            tcb.rtt_seq = sq
            tcb.rtt_ts = now
        tcb.snd_nxt = nxt
        if nxt > tcb.snd_max:
            tcb.snd_max = nxt
        if tcb.t_rtx is None or tcb.persist:
            # data in flight: the retransmission timer takes over from persist
            tcb.persist = False
            tcb.t_rtx = ticks.add(now, tcb.rto.value())
        if send_fin or limit:
            break
    if sent or cwnd_limited:
        cc.on_sent(tcb.snd_max - tcb.snd_una, tcb.snd_una, tcb.snd_max, cwnd_limited)
    if sent and not limit:
        arm_pto(tcb, now)           # RFC 8985 7.2: after new data (not a probe)


def sending(tcb, now):
    """The first data or FIN goes out: congestion control (RFC 5681), and where both sides
    agreed to SACK the scoreboard (RFC 6675) with RACK-TLP (RFC 8985) beside it. Until now
    there was nothing for them to track, so an idle connection does without them (BENCHMARKS.md,
    Memory on boards); they start as they would have at the handshake, which is the only RTT
    sample RACK can have had. -> the congestion control, or None when the heap cannot hold
    them: the connection is reset (no_heap)."""
    try:
        cc = for_connection(tcb)
        sb = rack = None
        if tcb.sack_ok:
            sb = Scoreboard(tcb.mss)
            if tcb.tcp.cfg.rack:
                rack = RACK(tcb.snd_una, tcb.tcp.cfg.rack_segs)
                if tcb.rto.srtt8:
                    rack.rtt_sample(tcb.rto.srtt())    # the handshake's round trip
    except MemoryError:
        no_heap(tcb, now, "nomem_abort")
        return None
    tcb.cc = cc
    tcb.sb = sb
    tcb.rack = rack
    return cc


def no_heap(tcb, now, counter):
    """The heap cannot hold what a connection needs next: reset it, closing with ENOBUFS, as
    lwIP's tcp_alloc fails with ERR_MEM, rather than keep it with nothing to work with."""
    tcb.tcp.count(counter)
    tcb.error = ENOBUFS
    reset(tcb, now)


def maybe_persist(tcb, now, avail):
    # RFC 9293 3.8.6.1: with data waiting and nothing in flight to elicit an ACK, probe
    if avail and tcb.snd_max == tcb.snd_una and tcb.t_rtx is None:
        tcb.persist = True
        tcb.t_rtx = ticks.add(now, tcb.rto.value())


def retransmit(tcb, sq, now, most=0xFFFF):
    """Resend one segment starting at sq (fast retransmit, partial ACK, SACK recovery) of
    at most `most` bytes; returns the sequence space it covered."""
    base = data_seq(tcb)
    off = sq - base
    sb = tcb.sndbuf
    n = min(payload_mss(tcb), sb.length - off, most)
    flags = ACK
    if n <= 0:
        if not (tcb.fin_queued and not tcb.fin_acked):
            return 0
        n = 0
        flags |= FIN
    elif off + n == sb.length:
        flags |= PSH                 # as output() marks the last queued byte
        if tcb.fin_queued and tcb.snd_max > base + sb.length:
            flags |= FIN
    send_segment(tcb, sq, flags, sb.view(off, n) if n else None, now)
    if tcb.rack is not None:
        tcb.rack.on_send(sq, sq + n + (1 if flags & FIN else 0), now)
    tcb.retransmits += 1
    tcb.tcp.count("rtx_segs")
    if tcb.rtt_seq is not None and tcb.rtt_seq >= sq:
        tcb.rtt_seq = None
    return n + (1 if flags & FIN else 0)


def arm_pto(tcb, now):
    """RFC 8985 7.2: (re)start the probe timer, or stop it where no probe may go."""
    rk = tcb.rack
    tcb.t_pto = None
    if rk is None or tcb.cc.in_recovery or rk.tlp_end is not None or \
            rk.rto_end is not None or tcb.t_reo is not None or tcb.persist or \
            not tcb.snd_wnd or tcb.snd_max == tcb.snd_una or tcb.t_rtx is None:
        return
    srtt8 = tcb.rto.srtt8
    if srtt8:
        pto = srtt8 >> 2             # 2 * SRTT
        pto += WCDELACK_MS if tcb.snd_max - tcb.snd_una <= tcb.mss else 2
    else:
        pto = tcb.rto.value()        # no RTT sample: 1 s (the initial RTO)
    left = ticks.until(tcb.t_rtx, now)
    tcb.t_pto = ticks.add(now, pto if pto < left else left)


def window_field(tcb):
    """The window to advertise, with receiver SWS avoidance (RFC 9293 3.8.6.2.2): the right
    edge moves only by at least min(buffer/2, MSS), and never moves left."""
    free = max_window(tcb)
    edge = tcb.rcv_nxt + free
    grow = edge - tcb.rcv_adv
    if grow > 0 and grow >= min(tcb.rcvbuf.size >> 1, tcb.mss):
        tcb.rcv_adv = edge
    w = (tcb.rcv_adv - tcb.rcv_nxt) >> tcb.rcv_wscale
    return w if w < 0xFFFF else 0xFFFF


def window_update(tcb):
    """After the user read: True when the peer must hear that the window grew by 2 MSS or
    half the buffer (BSD tcp_output's rule; RFC 1122 4.2.3.3). Sent at the next poll(), so the
    reads of one runner pass (an app draining in small pieces) make one update."""
    st = tcb.state
    if not in_data_states(st):
        return False
    grow = tcb.rcv_nxt + max_window(tcb) - tcb.rcv_adv
    if grow >= min(tcb.rcvbuf.size >> 1, 2 * tcb.mss):
        tcb.ack_due = True
        return True
    return False


def acceptable_seq(tcb):
    """The SEQ of a segment without data (an ACK, a RST): SND.MAX, not a SND.NXT rewound for
    go-back-N, as the peer may already have everything up to SND.MAX and would find an older
    SEQ unacceptable (BSD tcp_output does the same); but at most the window's edge, when a
    zero-window probe went past it. The peer accepts a segment without data only inside its
    window (RFC 9293 3.10.7.4), and an ACK it finds unacceptable is answered by one, which two
    peers probing each other's zero windows would trade for ever (Linux tcp_acceptable_seq)."""
    edge = tcb.snd_una + tcb.snd_wnd
    return tcb.snd_max if tcb.snd_max <= edge else edge


def flush_ack(tcb, now):
    """Send the ACK a segment's processing asked for (ack_now)."""
    if tcb.ack_now:
        send_segment(tcb, acceptable_seq(tcb), ACK, None, now)


def send_segment(tcb, sq, flags, payload, now, mss=None, wscale=None, sack_perm=False, gso=0,
                 ts=False):
    """Emit one segment: the one place segments of a connection leave. Every segment but a
    SYN carries our latest ACK and window, so sending one satisfies any pending (delayed)
    ACK. now None: an abort's RST from a user call, which the owner sends at its next poll.
    The edge of the send path: sq (an offset) and RCV.NXT become the header's 32-bit SEQ
    and ACK here, as 16-bit halves from the two bases (seq.hi, seq.lo). Once timestamps
    are agreed every segment carries one (RFC 7323 3.2), a RST too (as Linux's do); a SYN
    carries one if ts (the offer, syn_offer)."""
    tcp = tcb.tcp
    buf = tcp.hdr
    olen = 0
    if flags & SYN:
        olen = wire.options(buf, wire.HEADER_LEN, mss=mss, wscale=wscale,
                            sack_perm=sack_perm)
        w = tcb.rcvbuf.free()
        w = w if w < 0xFFFF else 0xFFFF
    else:
        w = window_field(tcb)
        ts = tcb.ts is not None
    if ts:
        timestamps.tick(tcp, now)
        # TSecr is TS.Recent once we have the peer's TSval, 0 in our SYN (RFC 7323 3.2)
        t = tcb.ts
        if t is not None:
            olen += wire.ts_option(buf, wire.HEADER_LEN + olen, tcp.ts_hi, tcp.ts_lo,
                                   t.hi, t.lo)
        else:
            olen += wire.ts_option(buf, wire.HEADER_LEN + olen, tcp.ts_hi, tcp.ts_lo, 0, 0)
    if not flags & SYN and tcb.sack_ok and (tcb.rcvbuf.ranges or tcb.dsack is not None):
        n = sack_blocks(tcb)
        d = tcb.dsack
        if d is None:
            blocks = rcv_blocks(tcb, tcb.rcvbuf.ranges, n)
        else:
            # RFC 2883 4: the duplicate first, then the usual blocks, once
            blocks = rcv_blocks(tcb, (d,), 1) + rcv_blocks(tcb, tcb.rcvbuf.ranges, n - 1)
            tcb.dsack = None
            tcp.count("dsack_tx")
        olen += wire.options(buf, wire.HEADER_LEN + olen, sack=blocks)
    urp = 0
    if tcb.urg is not None and tcb.urg.snd_up is not None and payload is not None:
        urp = tcb.urg.pointer(sq)
        if urp:
            flags |= URG
    tos = 0
    e = tcb.ecn
    if e is not None and not flags & SYN:
        flags = e.mark(tcb, sq, flags, payload)     # RFC 3168 6.1: ECE, CWR, ECT(0)
        tos = e.tos
    bl = tcb.snd_bl
    if flags & ACK:
        ak = tcb.rcv_nxt
        rl = tcb.rcv_bl
        hlen = wire.emit_halves(buf, tcb.lport, tcb.rport, seq.hi(tcb.snd_bh, bl, sq),
                                seq.lo(bl, sq), seq.hi(tcb.rcv_bh, rl, ak), seq.lo(rl, ak),
                                flags, w, urp, olen)
    else:
        hlen = wire.emit_halves(buf, tcb.lport, tcb.rport, seq.hi(tcb.snd_bh, bl, sq),
                                seq.lo(bl, sq), 0, 0, flags, w, urp, olen)
    if flags & ACK:
        if tcb.ts is not None:
            tcb.ts.last_ack = tcb.rcv_nxt   # RFC 7323 4.3 Last.ACK.sent
        tcb.ack_now = tcb.ack_due = False
        # (class defaults an idle connection leaves unset: tcb.py)
        if tcb.unacked_bytes:
            tcb.unacked_bytes = 0
        if tcb.t_delack is not None:
            tcb.t_delack = None
    if now is not None:
        tcb.last_snd = now
    tcp.transmit(tcb, hlen, payload, now is None, gso, tos)


def reset(tcb, now):
    """What ABORT does below the user call (RFC 9293 3.10.5): a synchronized connection sends
    a RST; either way it drops everything. Also for data that arrives after close(). now
    None: from the user's abort(), the RST waits for the owner's next poll."""
    st = tcb.state
    if st == SYN_RECEIVED or (ESTABLISHED <= st <= CLOSE_WAIT):
        send_segment(tcb, acceptable_seq(tcb), RST | ACK, None, now)
        tcb.tcp.count("rst_tx")
    destroy(tcb, ECONNABORTED if not tcb.error else tcb.error)


def send_syn(tcb, now):
    st = tcb.state
    flags = SYN | (ACK if st == SYN_RECEIVED else 0)
    if tcb.tcp.cfg.ecn:
        from .ecn import offer
        flags |= offer(tcb)             # RFC 3168 6.1.1
    ws, sack_perm, ts = syn_offer(tcb)
    send_segment(tcb, tcb.iss, flags, None, now, mss=tcb.mss_local, wscale=ws,
                 sack_perm=sack_perm, ts=ts)
    if tcb.t_rtx is None:
        tcb.t_rtx = ticks.add(now, tcb.rto.value())
