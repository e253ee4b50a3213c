"""One TCP connection's control block (RFC 9293 3.3.1): its fields, opening, and the user
calls (RFC 9293 3.10: `send`, `recv`, `shutdown_write`, `close`, `abort`, `keepalive`).

User calls never transmit. They change the TCB and queue the connection for the owner's next
`poll(now)`, which sends what they asked for (data, FIN, SYN, a window update, an abort's RST)
at the time it is given: a segment's send time, and so every RTT sample, is never a stale one
from between two polls. Every segment leaves through output.send_segment with that time.

Readiness (barenet/readiness.py): `events` counts what a waiter cares about (data or end of
stream to read, room in the send buffer, established, closed or failed), and the owner calls
`on_event(conn)` once after the segment or timer pass that made such changes.

The protocol's work is in module functions that take the TCB first, one module per seam of
RFC 9293 (as lwIP's tcp_in.c / tcp_out.c / tcp_timer.c): `input` (segment arrival), `output`
(segmentation, persist), `recovery` (ACKs, loss recovery), `timers`, `options`, `urgent`, with
the states in `state`. The owning `TCP` object drives `segment(seg, now)` and `poll(now)`, sends
what the TCB emits, and drops it from its tables once it is CLOSED, or once it enters TIME_WAIT,
where a small record (timewait.py) takes over.

Sequence numbers: every field below that holds one (snd_una, snd_nxt, snd_max, snd_wl1,
snd_wl2, rcv_nxt, rcv_adv, iss, irs, rtt_seq, high_rxt, rcv_fin_seq, and the urgent pointers,
SACK ranges, congestion control's recover and RACK's records) is an offset from its side's
base, compared with plain `<`: small ints on a 32-bit port (state.py, seq.py). The 32-bit
values exist only on the wire and in `info()`.
"""

from ..compat import oserror, ENOTCONN, EPIPE
from ..readiness import Ready
from . import input, seq, timers
from .congestion import for_connection
from .options import DEFAULT_MSS, agree, rcv_wscale, take_syn
from .output import data_seq, reset, send_syn, window_update
from .recv import RecvBuffer
from .rtt import RTO
from .send import SendBuffer
from .state import CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, \
    FIN_WAIT_2, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSING, STATE_NAMES, arrived, destroy, \
    release, rcv_abs, set_snd_base, snd_abs
from .timers import arm_keepalive
from .timewait import live


class TCPConnection(Ready):
    # Every field that starts at a constant is a class default: an instance holds it only
    # once assigned. On MicroPython each instance attribute is a slot of the instance's hash
    # table (8 bytes on a 32-bit port, the table sized up to the next of its steps, 47, 59,
    # 73, 97...), so what an idle connection never sets costs it nothing (BENCHMARKS.md,
    # Memory on boards; tests/micropython/test_board_memory.py caps it). Code that resets one
    # of these to its default where it usually already is checks first, so as not to add it.
    ts = None                # timestamps.Recent once both SYNs agreed to RFC 7323
    dsack = None             # (left, right) receive offsets of a duplicate: our next ACK's
                             # first SACK block (RFC 2883 4)
    # TCP_USER_TIMEOUT (RFC 5482): ms that sent data may stay unacknowledged, 0 for the retry
    # count alone; stall_start: when the data now timing out was sent (timers.py)
    user_timeout = 0
    stall_start = 0
    ecn = None               # ecn.ECN once both SYNs agreed to RFC 3168
    undo = None              # undo.Undo while a loss response may prove spurious (RFC 3708)
    dsack_received = 0       # D-SACKs the peer sent us (RFC 2883), and the undos they gave
    undo_count = 0
    chain = None             # the next connection with the same two ports (TCP)
    listener = None          # set while a passive open waits in the SYN queue
    # The largest IP datagram the interface's NIC cuts into segments itself (TSO, nic.py);
    # 0: every segment leaves MSS-sized
    tso_max = 0
    # congestion control, and the SACK scoreboard (RFC 6675) with RACK-TLP (RFC 8985) beside
    # it once SACK is agreed: made when the first data or FIN goes out (output.sending)
    cc = None
    sb = None
    rack = None
    high_rxt = 0
    snd_wscale = 0
    sack_ok = False
    ws_ok = False            # both sides sent a window scale option
    fin_queued = False       # the user shut down writing: a FIN follows the data
    fin_acked = False
    user_closed = False      # close() called: nothing more is read
    error = 0                # errno reported to the user, set when the connection dies
    soft_error = 0           # last ICMP soft error, reported if we then time out
    neighbor_suspect = False  # a wrong next-hop MAC? TCP tells IP (RFC 1122 2.3.2.1)
    nodelay = False
    ttl = None               # IP_TTL for our segments; None: the stack's (cfg.ttl)
    oobinline = False
    # urgent data both ways (urgent.py; RFC 9293 3.8.5, RFC 6093): None until some is sent
    # or announced, as most connections never see any
    urg = None
    rcv_fin_seq = None       # where the peer's FIN sits, if it came out of order
    fin_rcvd = False
    # timers: deadlines on the ticks clock, None when stopped
    t_rtx = None             # retransmission, SYN retries, or persist (self.persist)
    persist = False
    t_delack = None
    t_keep = None
    t_close = None           # the orphaned FIN_WAIT_2 limit (TIME_WAIT: timewait.py)
    t_pto = None             # tail loss probe (RFC 8985 7.2)
    t_reo = None             # RACK reordering timer (RFC 8985 6.3)
    rtx_count = 0            # consecutive timeouts without progress
    rtt_seq = None           # segment being timed (Karn: only never-retransmitted ones)
    rtt_ts = 0
    dupacks = 0
    unacked_bytes = 0        # in-order bytes received since our last ACK
    ack_now = False          # send an ACK before segment() returns
    ack_due = False          # send an ACK at the next poll(): after the input burst, or
                             # after the user's reads opened the window
    keep_idle = keep_intvl = keep_cnt = 0    # keepalive() (RFC 9293 3.8.4); 0: off
    keep_probes = 0
    retransmits = 0          # segments retransmitted over the connection's life
    timeouts = 0
    challenge_acks = 0
    output_due = False       # a user call queued work for the next poll
    queued = False           # in the owner's list for its next poll
    sched = None             # the owner's timer entry for us (its clock), or None
    tw = None                # our TIME_WAIT record once we entered it (timewait.py)
    congestion = None        # TCP_CONGESTION's name (algorithms.py); None: cfg.congestion

    def __init__(self, tcp, lip, lport, rip, rport, mss_local, now, listener=None, tso_max=0):
        self.tcp = tcp
        self.lip = lip
        self.lport = lport
        self.rip = rip
        self.rport = rport
        # The addresses as 16-bit halves (TCP's lookup compares them with a received
        # header's) and their word sum (every segment's pseudo-header checksum)
        self.lip_hi = (lip[0] << 8) | lip[1]
        self.lip_lo = (lip[2] << 8) | lip[3]
        self.rip_hi = (rip[0] << 8) | rip[1]
        self.rip_lo = (rip[2] << 8) | rip[3]
        self.asum = self.lip_hi + self.lip_lo + self.rip_hi + self.rip_lo
        if listener is not None:
            self.listener = listener
        self.opened = now            # TCP evicts the oldest half-open connection first
        self.state = CLOSED
        c = tcp.cfg
        # Storage comes when the connection is established (ring.py): a half-open one has none
        self.sndbuf = SendBuffer(c.sndbuf, c.buf_start)
        self.rcvbuf = RecvBuffer(c.rcvbuf, c.ooo_ranges, c.buf_start)
        self.rto = RTO(c.rto_min_ms, c.rto_max_ms, c.rto_initial_ms)
        self.mss_local = mss_local   # what we advertise: interface MTU - 40
        if tso_max:
            self.tso_max = tso_max
        self.mss = min(mss_local, DEFAULT_MSS)
        # The two bases as 16-bit halves: the 32-bit sequence numbers of send offset 0 (the
        # ISS until the first rebase) and of receive offset 0 (the IRS, likewise)
        self.snd_bh = self.snd_bl = self.rcv_bh = self.rcv_bl = 0
        self.iss = self.snd_una = self.snd_nxt = self.snd_max = 0
        self.snd_wnd = self.snd_wl1 = self.snd_wl2 = self.max_sndwnd = 0
        # what we ask for; 0 again if the peer does not agree
        self.rcv_wscale = rcv_wscale(c.rcvbuf)
        self.irs = self.rcv_nxt = self.rcv_adv = 0
        self.last_rcv = now
        self.last_snd = now

    # -- user calls ----------------------------------------------------------------------

    def send(self, data, oob=False):
        """Queue data; returns the number of bytes accepted (0 when the buffer is full)."""
        if self.error:
            raise oserror(self.error)
        st = self.state
        if self.fin_queued or st == CLOSED or st == LISTEN:
            raise oserror(EPIPE if self.fin_queued else ENOTCONN)
        if st >= FIN_WAIT_1 and st != CLOSE_WAIT:
            raise oserror(EPIPE)
        n = self.sndbuf.write(data)
        if n and oob:
            from .urgent import urgent
            urgent(self).queued(data_seq(self) + self.sndbuf.length)
        if n and st >= ESTABLISHED:
            self._queue()
        return n

    def recv(self, n, oob=False, peek=False):
        """Up to n bytes; b"" at end of stream, None when nothing has arrived yet. peek
        (MSG_PEEK) leaves them in the buffer; it still stops at the urgent mark."""
        if oob:
            from .urgent import urgent
            return urgent(self).recv_oob(self.oobinline, self.error)
        rb = self.rcvbuf
        if rb.length:
            urg = self.urg
            if urg is not None and urg.urg_mark is not None:
                # The sequence offset of the next byte to read: RCV.NXT counts the peer's
                # FIN once it is in, and the FIN is no byte of the buffer.
                head = self.rcv_nxt - rb.length - (1 if self.fin_rcvd else 0)
                if peek:
                    d = urg.urg_mark - head
                    if d:
                        n = min(n, d)
                else:
                    n = urg.read_size(rb, n, head, self.oobinline)
            if peek:
                return rb.peek(n)
            if rb.length:
                out = rb.read(n)
                if window_update(self):
                    self._queue()
                if not rb.length:
                    release(self)
                return out
        if self.error:
            raise oserror(self.error)
        st = self.state
        if st == CLOSE_WAIT or st == CLOSING or st == LAST_ACK or st == TIME_WAIT:
            return b""
        if st == CLOSED:
            if self.fin_rcvd:
                return b""
            raise oserror(ENOTCONN)
        return None

    def readable(self):
        """Bytes ready for recv()."""
        return self.rcvbuf.length

    def writable(self):
        """Bytes send() would accept now."""
        st = self.state
        if self.fin_queued or not (st == ESTABLISHED or st == CLOSE_WAIT or st == SYN_SENT or
                                   st == SYN_RECEIVED):
            return 0
        return self.sndbuf.free()

    def set_buffers(self, rcv, snd):
        """Smaller buffers than the profile's (SO_RCVBUF/SO_SNDBUF), before our SYN or
        SYN,ACK offers a window and a window scale: the scale fits the new size, as Linux's
        tcp_select_initial_window picks it from the socket's rcvbuf."""
        self.rcvbuf.resize(rcv)
        self.sndbuf.resize(snd)
        self.rcv_wscale = rcv_wscale(rcv)

    def keepalive(self, idle_ms, interval_ms, count):
        """Probe an idle connection (RFC 9293 3.8.4); idle_ms 0 turns keep-alive off."""
        self.keep_idle = idle_ms
        self.keep_intvl = interval_ms
        self.keep_cnt = count
        self.keep_probes = 0
        arm_keepalive(self)
        self._queue()                    # the owner learns the new deadline

    def set_user_timeout(self, ms):
        """RFC 5482 / Linux TCP_USER_TIMEOUT: abort with ETIMEDOUT once sent data has gone
        unacknowledged for ms (0: only max_retries ends retransmission)."""
        if ms != self.user_timeout:
            self.user_timeout = ms      # (the class default stays shared until then)

    def shutdown_write(self):
        """Send a FIN after the queued data (RFC 9293 3.10.4 CLOSE, half-close). Before the
        handshake completes, the FIN waits for it (as BSD's TF_NEEDFIN): connect(), send()
        and shutdown_write() in one go deliver the data and then the FIN."""
        st = self.state
        if self.fin_queued:
            return
        if st == CLOSED or st == LISTEN:
            raise oserror(ENOTCONN)
        if st == SYN_SENT or st == SYN_RECEIVED:
            # input enters FIN_WAIT_1 when the handshake completes (RFC 9293 3.10.4 CLOSE in
            # SYN-RECEIVED: queued until ESTABLISHED), so that the handshake still does
            self.fin_queued = True
            return
        if st == ESTABLISHED:
            self.state = FIN_WAIT_1
        elif st == CLOSE_WAIT:
            self.state = LAST_ACK
        else:
            return
        self.fin_queued = True
        self._queue()

    def close(self):
        """Close both directions. Unread data means the peer's data was lost: reset instead
        (RFC 2525 2.17, as BSD and Linux do). A connection attempt is just dropped (RFC 9293
        3.10.4 CLOSE in SYN-SENT)."""
        st = self.state
        if st == CLOSED or st == SYN_SENT:
            destroy(self, 0)
            self.tcp.forget(self)
            return
        self.user_closed = True
        if self.rcvbuf.length:
            self.abort()
            return
        release(self)                    # nothing more will be read
        self.shutdown_write()
        if self.state == FIN_WAIT_2:
            self._queue()                # the next poll arms the orphan's timer

    def abort(self):
        """RFC 9293 3.10.5 ABORT: reset a synchronized connection and drop everything. The
        RST goes out at the owner's next poll; the connection is gone at once."""
        reset(self, None)
        self.tcp.forget(self)

    def _queue(self):
        self.output_due = True
        if not self.queued:
            self.tcp.queue(self)

    def info(self):
        rto = self.rto
        st = self.state
        if st == TIME_WAIT and self.tw is not None and not live(self.tw):
            st = CLOSED              # its TIME_WAIT record ended: expired, reused, reset
        d = {
            "state": STATE_NAMES[st],
            "local": (self.lip, self.lport), "remote": (self.rip, self.rport),
            # 32-bit sequence numbers, as on the wire
            "mss": self.mss, "iss": snd_abs(self, self.iss), "irs": rcv_abs(self, self.irs),
            "snd_una": snd_abs(self, self.snd_una), "snd_nxt": snd_abs(self, self.snd_nxt),
            "snd_max": snd_abs(self, self.snd_max),
            "snd_wnd": self.snd_wnd, "snd_wscale": self.snd_wscale,
            "rcv_nxt": rcv_abs(self, self.rcv_nxt), "rcv_wnd": self.rcv_adv - self.rcv_nxt,
            "rcv_wscale": self.rcv_wscale, "sack": self.sack_ok,
            "timestamps": self.ts is not None,
            "ts_rtt_samples": 0 if self.ts is None else self.ts.rtt_samples,
            "srtt_ms": rto.srtt(), "rttvar_ms": rto.rttvar(), "rto_ms": rto.value(),
            "retransmits": self.retransmits, "timeouts": self.timeouts,
            "challenge_acks": self.challenge_acks,
            "unacked": self.snd_max - self.snd_una, "send_queue": self.sndbuf.length,
            "recv_queue": self.rcvbuf.length, "ooo_ranges": len(self.rcvbuf.ranges),
            # storage held now, which the per-connection cost excludes (BENCHMARKS.md)
            "buffer_bytes": self.sndbuf.cap + self.rcvbuf.cap,
            "error": self.error,
        }
        # before the first data goes out (output.sending), what congestion control starts with
        cc = self.cc if self.cc is not None else for_connection(self)
        d.update(cc.info())
        d["recover"] = snd_abs(self, d["recover"])
        # issue 14 items 2, 5, 8: where RTT samples come from (RFC 7323 4.1 or Karn's rule),
        # D-SACKs and the undos they gave (RFC 3708), ECN (RFC 3168)
        d["rtt_source"] = "ts" if self.ts is not None else "karn"
        d["dsack_received"] = self.dsack_received
        d["undo_count"] = self.undo_count
        d.update(self.ecn.info() if self.ecn is not None else {"ecn": False})
        return d

    # -- opening -------------------------------------------------------------------------

    def open_active(self, iss):
        """RFC 9293 3.10.1 OPEN (active): enter SYN_SENT; the next poll sends the SYN."""
        self._set_iss(iss)
        self.state = SYN_SENT
        self._queue()

    def open_passive(self, seg, iss, now):
        """RFC 9293 3.10.7.2: a SYN reached a listener; we answer with SYN,ACK."""
        self._set_iss(iss)
        take_syn(self, seg)
        self.snd_wnd = seg.wnd          # RFC 7323 2.2: the window in a SYN is never scaled
        self.snd_wl1 = seg.seq_off
        self.max_sndwnd = seg.wnd
        self.state = SYN_RECEIVED
        send_syn(self, now)

    def open_cookie(self, seg, iss, mss, wscale, sack, now):
        """RFC 4987 3.6: seg, an ACK that reached a listener, acknowledges a SYN cookie (iss,
        tcp/syncookie.py). The connection is made from what the cookie kept of the SYN and
        is ESTABLISHED at once; the owner then gives it seg for its data (segment()).
        False: no heap for its buffers, and it is CLOSED (input.established)."""
        self._set_iss(iss)
        # The ACK's SEQ is IRS + 1: the receive side's base (offset 0) is one below it
        self.rcv_bh = seq.hi(seg.seq_hi, seg.seq_lo, -1)
        self.rcv_bl = seq.lo(seg.seq_lo, -1)
        self.irs = 0
        self.rcv_nxt = 1
        agree(self, mss, wscale, sack)
        self.state = SYN_RECEIVED
        arrived(self, seg)
        return input.handshake_acked(self, seg, now)

    def _set_iss(self, iss):
        set_snd_base(self, iss)         # ISS is send offset 0; SND.NXT = ISS + 1

    # -- driven by TCP (tcp/__init__.py), which drops a CLOSED connection ---------------

    def segment(self, seg, now, backlog_full=False):
        """One segment for this connection (input.segment)."""
        input.segment(self, seg, now, backlog_full)

    def poll(self, now):
        """Run due timers; -> ms until the next one, or None (timers.poll)."""
        return timers.poll(self, now)

    def icmp_error(self, icmp_type, code, err, mtu, quoted_seq, now):
        """An ICMP error about a segment we sent (input.icmp_error)."""
        input.icmp_error(self, icmp_type, code, err, mtu, quoted_seq, now)
