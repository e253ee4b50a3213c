"""Segment arrival (RFC 9293 3.10.7.3 SYN-SENT, 3.10.7.4 the other states), step by step in
the RFC's order, with the data and FIN placed in the receive buffer; and ICMP errors about the
segments we sent (RFC 5927, RFC 1122 4.2.3.9).

What an acceptable ACK does to the send side is recovery's job. A passive open completes here,
but its move to the accept queue is the owner's (tcp/__init__.py); so is dropping a connection
that reached CLOSED.
"""

from .. import ticks
from ..compat import ECONNREFUSED, ECONNRESET, ENOBUFS
from .congestion import NewReno
from .options import MIN_MSS, fixed_options, take_syn
from .output import flush_ack, output, reset, send_syn
from .rack import RACK
from .recovery import ack_received
from .sack import Scoreboard
from .state import CLOSED, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, \
    CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, FIN, SYN, RST, ACK, URG, REBASE, acceptable, \
    arrived, destroy, in_data_states, rebase, release
from .timers import arm_fin_wait2, arm_keepalive
from .timestamps import paws_reject, rtt, tick, update_recent


def segment(tcb, seg, now, backlog_full=False):
    """Process one segment addressed to this connection (RFC 9293 3.10.7.3 / 3.10.7.4).
    backlog_full: a passive open's listener has no room in its accept queue, so the
    handshake may not complete yet (the owner moves a completed one to that queue).
    From here on SEQ and ACK are offsets (seg.seq_off, seg.ack_off: state.arrived)."""
    arrived(tcb, seg)
    tick(tcb.tcp, now)
    if tcb.state == SYN_SENT:
        syn_sent(tcb, seg, now)
    else:
        synchronized(tcb, seg, now, backlog_full)
    if tcb.state != CLOSED:
        flush_ack(tcb, now)
        if tcb.snd_una >= REBASE or tcb.rcv_nxt >= REBASE:
            rebase(tcb)                  # now, while no step holds an offset


def syn_sent(tcb, seg, now):
    """RFC 9293 3.10.7.3: a segment while our SYN waits for its answer."""
    flags = seg.flags
    tcp = tcb.tcp
    if flags & ACK:
        # RFC 9293 3.10.7.3 first: an ACK for something we never sent
        if seg.ack_off <= tcb.iss or seg.ack_off > tcb.snd_max:
            if not flags & RST:
                tcp.send_rst(tcb.lip, tcb.rip, tcb.lport, tcb.rport, seg.ack, 0, RST)
            return
    if flags & RST:
        # second: refused, but only when the RST acknowledges our SYN (RFC 5961 3.2 note)
        if flags & ACK:
            tcp.count("conn_refused")
            destroy(tcb, ECONNREFUSED)
        return
    if not flags & SYN:
        return
    take_syn(tcb, seg)
    if flags & ACK:
        tcb.snd_una = seg.ack_off
        tcb.snd_wnd = seg.wnd          # RFC 7323 2.2: unscaled in a SYN
        tcb.max_sndwnd = seg.wnd
        tcb.snd_wl1 = seg.seq_off
        tcb.snd_wl2 = seg.ack_off
        rtt_from_syn(tcb, seg, now)
        if not established(tcb, now):
            return
        if tcb.fin_queued:
            tcb.state = FIN_WAIT_1       # shutdown_write() came before the answer
        tcb.t_rtx = None
        tcb.ack_now = True
        output(tcb, now)
    else:
        # simultaneous open (RFC 9293 3.5 figure 7): answer SYN,ACK with our ISS
        tcb.snd_wnd = seg.wnd
        tcb.max_sndwnd = seg.wnd
        tcb.snd_wl1 = seg.seq_off
        tcb.state = SYN_RECEIVED
        send_syn(tcb, now)


def rtt_from_syn(tcb, seg, now):
    # The echo of our SYN's timestamp times it (RFC 7323 4.1); without one, Karn: the SYN's
    # round trip counts only if the SYN went out once
    r = rtt(tcb, seg) if tcb.ts is not None else None
    if r is not None:
        tcb.rto.sample(r)
    elif tcb.rtx_count == 0:
        tcb.rto.sample(ticks.diff(now, tcb.last_snd))


def established(tcb, now):
    """The handshake is done: the buffers, congestion control and, where both sides agreed
    to SACK, the scoreboard (RFC 6675) with RACK-TLP (RFC 8985) beside it. -> False when the
    heap cannot hold them (a board's MemoryError): the connection is reset instead and
    closes with ENOBUFS, counted as refused_nomem, as lwIP's tcp_alloc fails with ERR_MEM,
    rather than stay ESTABLISHED with nothing to send or receive with."""
    try:
        tcb.sndbuf.reserve()
        tcb.rcvbuf.reserve()
        cc = NewReno(tcb.mss, sack=tcb.sack_ok)
        name = tcb.congestion or tcb.tcp.cfg.congestion
        if name != "reno":              # NewReno's own: no algorithms.py on a board
            from .algorithms import select
            select(cc, name, tcb.rto)
        sb = rack = None
        if tcb.sack_ok:
            sb = Scoreboard(tcb.mss)
            if tcb.tcp.cfg.rack:
                rack = RACK(tcb.snd_una, tcb.tcp.cfg.rack_segs)
    except MemoryError:
        tcb.sndbuf.release()
        tcb.rcvbuf.release()
        tcb.tcp.count("refused_nomem")
        tcb.error = ENOBUFS
        reset(tcb, now)
        return False
    tcb.state = ESTABLISHED
    tcb.cc = cc
    tcb.sb = sb
    tcb.rack = rack
    if rack is not None and tcb.rto.srtt8:
        rack.rtt_sample(tcb.rto.srtt())    # the handshake's round trip
    tcb.rtx_count = 0
    tcb.rto.reset_backoff()
    arm_keepalive(tcb)
    tcb.events += 1                     # writable
    tcb.tcp.count("established")
    return True


def synchronized(tcb, seg, now, backlog_full):
    """RFC 9293 3.10.7.4: a segment in SYN_RECEIVED or a later state."""
    st = tcb.state
    flags = seg.flags
    plen = len(seg.payload)
    seglen = plen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
    s = seg.seq_off
    if st == SYN_RECEIVED and flags & SYN and flags & ACK and s == tcb.irs and \
            seg.ack_off == tcb.snd_max and not plen:
        # Simultaneous open (RFC 9293 figure 7): the peer's SYN,ACK repeats a SYN we
        # have; its ACK completes our side. Linux takes the same shortcut.
        flags &= ~SYN
        seg.flags = flags
        s = seg.seq_off = s + 1
        seglen = 0
    wnd = tcb.rcv_adv - tcb.rcv_nxt
    off = s - tcb.rcv_nxt               # the modular distance: s was taken near rcv_nxt
    # RFC 7323 5.3 R1: PAWS, before the sequence number (a duplicate from before a wrap of
    # the sequence space can be acceptable by its number). A segment without a TSopt is
    # taken, as Linux does, though RFC 7323 3.2 says SHOULD drop: a middlebox that strips
    # options from some segments would otherwise stall the connection.
    ts = tcb.ts is not None and seg.ts
    if ts and not flags & RST and paws_reject(tcb, seg):
        tcb.tcp.count("rx_paws_drop")
        tcb.ack_now = True
        return
    # first: sequence number
    if not check_sequence(tcb, flags, s, seglen, off, wnd, now):
        return
    if ts:
        update_recent(tcb, seg)         # R3
    # second: RST (RFC 5961 3.2: exact match resets, otherwise a challenge ACK)
    if flags & RST:
        if off == 0:
            reset_received(tcb)
        else:
            challenge_ack(tcb, now)
        return
    # fourth: SYN in a synchronized state (RFC 5961 4.2)
    if flags & SYN:
        challenge_ack(tcb, now)
        return
    # fifth: ACK
    if not flags & ACK or not check_ack(tcb, seg, plen, now, backlog_full):
        return
    st = tcb.state
    # sixth: URG (RFC 9293 3.10.7.4, RFC 6093: the pointer is one past the urgent byte)
    if flags & URG and in_data_states(st) and seg.urp:
        from .urgent import urgent      # on the first URG: most connections see none
        urgent(tcb).received(s + seg.urp, tcb.rcv_nxt, tcb.rcvbuf.length, tcb.oobinline)
    # seventh: segment text
    if plen or flags & FIN:
        if in_data_states(st):
            if plen and tcb.user_closed:
                # Nobody will read this: tell the peer (RFC 9293 3.10.7.4, Linux does too).
                reset(tcb, now)
                return
            data(tcb, seg, off, wnd, plen, now)
        elif plen:
            tcb.tcp.count("rx_after_fin")


def check_sequence(tcb, flags, s, seglen, off, wnd, now):
    """RFC 9293 3.10.7.4 first: sequence number acceptability (the four cases). False: the
    segment is unacceptable and was dealt with (an ACK owed, our SYN,ACK again, or for a
    RST nothing)."""
    if acceptable(off, seglen, wnd):
        return True
    st = tcb.state
    if st == SYN_RECEIVED and flags & SYN and not flags & ACK and s == tcb.irs:
        send_syn(tcb, now)          # the peer lost our SYN,ACK
        return False
    tcb.tcp.count("rx_out_of_window")
    if not flags & RST:
        tcb.ack_now = True
        plen = seglen - (1 if flags & SYN else 0) - (1 if flags & FIN else 0)
        if plen and off < 0 and off + plen <= 0 and tcb.sack_ok:
            tcb.dsack = (s, s + plen)   # RFC 2883 4.1.1: data we had, all of it
    return False


def reset_received(tcb):
    # RFC 9293 3.10.7.4 second
    st = tcb.state
    tcb.tcp.count("rst_rx")
    if st == SYN_RECEIVED and tcb.listener is not None:
        destroy(tcb, 0)                 # a passive open just goes away
    elif st == SYN_RECEIVED:
        destroy(tcb, ECONNREFUSED)
    elif st <= CLOSE_WAIT:
        destroy(tcb, ECONNRESET)
    else:
        destroy(tcb, 0)                 # CLOSING, LAST_ACK


def challenge_ack(tcb, now):
    # RFC 5961 3.2, 4.2, 5.2 with the rate limit of section 7
    if tcb.tcp.challenge_allowed(now):
        tcb.challenge_acks += 1
        tcb.tcp.count("challenge_ack")
        tcb.ack_now = True


def check_ack(tcb, seg, plen, now, backlog_full):
    """RFC 9293 3.10.7.4 fifth: the ACK field. False: processing ends with this step."""
    tcb.last_rcv = now
    tcb.keep_probes = 0
    if tcb.state == SYN_RECEIVED and not complete_handshake(tcb, seg, now, backlog_full):
        return False
    # RFC 5961 5.2: an ACK for data never sent, or too old to be a real one, draws a
    # challenge ACK and the segment is dropped
    ack = seg.ack_off
    if ack > tcb.snd_max or ack < tcb.snd_una - tcb.max_sndwnd:
        challenge_ack(tcb, now)
        return False
    ack_received(tcb, seg, plen, now)
    st = tcb.state
    if tcb.fin_acked:
        if st == FIN_WAIT_1:
            tcb.state = st = FIN_WAIT_2
            if tcb.user_closed:
                arm_fin_wait2(tcb, now)
        elif st == CLOSING:
            enter_time_wait(tcb)
            return False
        elif st == LAST_ACK:
            destroy(tcb, 0)
            return False
    return True


def complete_handshake(tcb, seg, now, backlog_full):
    """Fifth step in SYN_RECEIVED: an ACK of our SYN enters ESTABLISHED; any other draws a
    RST. False: processing ends here."""
    if tcb.snd_una < seg.ack_off <= tcb.snd_max:
        if backlog_full:
            tcb.tcp.count("accept_queue_full")
            return False      # accept queue full: stay half-open, the peer retries
        rtt_from_syn(tcb, seg, now)
        return handshake_acked(tcb, seg, now)
    tcb.tcp.send_rst(tcb.lip, tcb.rip, tcb.lport, tcb.rport, seg.ack, 0, RST)
    return False


def handshake_acked(tcb, seg, now):
    """Our SYN,ACK is acknowledged by seg (an ACK in SYN_RECEIVED, or a valid SYN cookie's,
    tcb.open_cookie): enter ESTABLISHED with the peer's window from that ACK, scaled now
    (RFC 7323 2.2: only a SYN's window is unscaled). False: no heap for it (established())."""
    tcb.snd_una = tcb.iss + 1
    tcb.t_rtx = None
    tcb.snd_wnd = seg.wnd << tcb.snd_wscale
    tcb.snd_wl1 = seg.seq_off
    tcb.snd_wl2 = seg.ack_off
    if not established(tcb, now):
        return False
    if tcb.fin_queued:
        tcb.state = FIN_WAIT_1
    return True


def data(tcb, seg, off, wnd, plen, now):
    """Seventh and eighth: place data and FIN (RFC 9293 3.10.7.4), in order or not."""
    payload = seg.payload
    fin = seg.flags & FIN
    start = 0
    if off < 0:
        start = -off                     # already have the front of it
        off = 0
        if tcb.sack_ok:
            tcb.dsack = (seg.seq_off, tcb.rcv_nxt)  # RFC 2883 4.1.1: a partial duplicate
    end = plen
    if off + (end - start) > wnd:
        end = start + wnd - off          # beyond the window: cut, and the FIN with it
        fin = 0
        # What lies beyond the window is unacceptable and owes an ACK (RFC 9293 3.10.7.4):
        # this is how a zero-window probe learns the window is still shut (3.8.6.1), and a
        # sender whose probes go unanswered gives up on a live peer
        tcb.ack_now = True
        tcb.tcp.count("rx_past_window")
    n = end - start
    rb = tcb.rcvbuf
    if n > 0:
        rb.store(off, payload if n == plen else payload[start:end])
    if off == 0:
        if n > 0:
            had_gap = bool(rb.ranges)
            before = tcb.rcv_nxt
            tcb.rcv_nxt = rb.advance(n, before)
            tcb.events += 1                 # readable
            # Counts what became readable: a gap fill delivers the queued data behind it.
            tcb.tcp.count("rx_bytes", tcb.rcv_nxt - before)
            if had_gap:
                tcb.ack_now = True      # RFC 5681 4.2: a gap fill is acked at once
            if tcb.urg is not None and tcb.urg.urg_seq is not None:
                tcb.urg.arrived(rb, tcb.rcv_nxt)
            tcb.unacked_bytes += n
            if tcb.unacked_bytes >= 2 * tcb.mss_local:
                # RFC 9293 3.8.6.3: ACK at least every 2*RMSS bytes of new data, RMSS being
                # the MSS we advertised, so a peer whose segments are smaller than that (a
                # smaller path MTU, IP or TCP options, a GSO size) still gets its ACKs at
                # once. Counted between ACK opportunities: the runner's poll() after a burst
                # of frames is the opportunity, and one ACK then covers the whole burst, as
                # Linux sends one per GRO batch (RFC 9293 3.8.6.3 names GRO among the
                # practices that reduce ACKs). Out-of-order data, gap fills and FINs are
                # still acked at once (ack_now).
                tcb.ack_due = True
            if tcb.t_delack is None:
                tcb.t_delack = ticks.add(now, tcb.tcp.cfg.delack_ms)
        if fin:
            if tcb.rcv_fin_seq is None or tcb.rcv_nxt == tcb.rcv_fin_seq \
                    or seg.seq_off + plen == tcb.rcv_nxt:
                tcb.rcv_fin_seq = seg.seq_off + plen
    else:
        # out of order: RFC 5681 4.2 asks for an immediate duplicate ACK
        tcb.ack_now = True
        tcb.tcp.count("rx_ooo")
        if n > 0:
            left = tcb.rcv_nxt + off
            if not rb.add_range(left, left + n):
                tcb.tcp.count("drop_ooo_full")
        if fin:
            tcb.rcv_fin_seq = seg.seq_off + plen
    if tcb.rcv_fin_seq is not None and tcb.rcv_fin_seq == tcb.rcv_nxt:
        fin_received(tcb, now)


def fin_received(tcb, now):
    # RFC 9293 3.10.7.4 eighth
    tcb.rcv_nxt += 1
    if tcb.rcv_adv < tcb.rcv_nxt:
        tcb.rcv_adv += 1
    tcb.fin_rcvd = True
    tcb.rcv_fin_seq = None
    tcb.ack_now = True
    tcb.events += 1                     # end of stream to read
    release(tcb)
    st = tcb.state
    if st == ESTABLISHED or st == SYN_RECEIVED:
        tcb.state = CLOSE_WAIT
    elif st == FIN_WAIT_1:
        if tcb.fin_acked:
            enter_time_wait(tcb)
        else:
            tcb.state = CLOSING
    elif st == FIN_WAIT_2:
        enter_time_wait(tcb)


def enter_time_wait(tcb):
    # The TCB's part ends here, but for the ACK this segment owes: after the segment, TCP
    # moves the connection to its TIME_WAIT table (timewait.py), whose record runs the 2 MSL
    # and answers what comes later. Loss recovery's state goes with the send buffer.
    tcb.state = TIME_WAIT
    tcb.t_rtx = tcb.t_pto = tcb.t_reo = tcb.t_keep = tcb.t_close = None
    tcb.persist = False
    tcb.sb = tcb.rack = None
    release(tcb)


def icmp_error(tcb, icmp_type, code, err, mtu, quoted_seq, now):
    """An ICMP error about a segment we sent (RFC 5927 4.1 validated by the caller)."""
    st = tcb.state
    if mtu:
        # RFC 1191 fragmentation needed: shrink the MSS and resend at once
        new = mtu - 40 - fixed_options(tcb)
        if MIN_MSS <= new < tcb.mss:
            tcb.mss = new
            if tcb.cc is not None:
                tcb.cc.mss = new
            if tcb.sb is not None:
                tcb.sb.mss = new
            tcb.tcp.count("pmtu_update")
            if st >= ESTABLISHED and tcb.snd_max != tcb.snd_una:
                tcb.snd_nxt = tcb.snd_una
                output(tcb, now)
        return
    if st == SYN_SENT or (st == SYN_RECEIVED and tcb.listener is None):
        # Linux aborts a connection attempt on a destination-unreachable (tcp_v4_err)
        if icmp_type == 3:
            destroy(tcb, err)
            return
    # RFC 1122 4.2.3.9, RFC 5461: soft errors in synchronized states
    tcb.soft_error = err
