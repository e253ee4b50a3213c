"""One TCP connection: the RFC 9293 state machine, its windows, timers and user calls.

Sans-I/O: `segment(seg, now)` takes one parsed segment, `poll(now)` sends the ACK a burst of
segments owes, runs due timers and says when it next needs to run, and the user calls (`send`, `recv`, `shutdown_write`, `close`,
`abort`) act at `stack.now`. Segments go out through the owning `TCP` object. Sequence numbers
are absolute 32-bit values compared only through `tcp.seq`.
"""

from .. import ticks
from ..compat import oserror, ECONNREFUSED, ECONNRESET, \
    ENOTCONN, EPIPE
from . import seq, timers
from .congestion import NewReno
from .options import DEFAULT_MSS, MIN_MSS, rcv_wscale, take_syn
from .output import data_seq, flush_ack, output, reset, send_syn, window_update
from .rack import RACK
from .recovery import ack_received
from .recv import RecvBuffer
from .rtt import RTO
from .sack import Scoreboard
from .send import SendBuffer
from .state import CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, \
    FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, STATE_NAMES, FIN, SYN, RST, ACK, URG, \
    destroy, in_data_states
from .timers import arm_close, arm_fin_wait2, arm_keepalive
from .urgent import Urgent


class TCPConnection:
    def __init__(self, tcp, lip, lport, rip, rport, mss_local, now, listener=None):
        self.tcp = tcp
        self.lip = lip
        self.lport = lport
        self.rip = rip
        self.rport = rport
        self.listener = listener   # set while a passive open waits in the SYN queue
        self.state = CLOSED
        c = tcp.cfg
        self.sndbuf = SendBuffer(c["sndbuf"])
        self.rcvbuf = RecvBuffer(c["rcvbuf"], c["ooo_ranges"])
        self.rto = RTO(c["rto_min_ms"], c["rto_max_ms"], c["rto_initial_ms"])
        self.mss_local = mss_local   # what we advertise: interface MTU - 40
        self.mss = min(mss_local, DEFAULT_MSS)
        self.cc = None
        self.sb = None               # SACK scoreboard (RFC 6675) once SACK is agreed
        self.rack = None             # RACK-TLP (RFC 8985) beside it
        self.high_rxt = 0
        self.iss = self.snd_una = self.snd_nxt = self.snd_max = 0
        self.snd_wnd = self.snd_wl1 = self.snd_wl2 = self.max_sndwnd = 0
        self.snd_wscale = 0
        # what we ask for; 0 again if the peer does not agree
        self.rcv_wscale = rcv_wscale(c["rcvbuf"])
        self.irs = self.rcv_nxt = self.rcv_adv = 0
        self.sack_ok = False
        self.ws_ok = False           # both sides sent a window scale option
        self.fin_queued = False      # the user shut down writing: a FIN follows the data
        self.fin_acked = False
        self.user_closed = False     # close() called: nothing more is read
        self.error = 0               # errno reported to the user, set when the connection dies
        self.soft_error = 0          # last ICMP soft error, reported if we then time out
        # the next hop's MAC may be wrong: the owner tells IP before our next segment leaves
        self.neighbor_suspect = False  # (RFC 1122 2.3.2.1)
        self.nodelay = False
        self.oobinline = False
        self.urg = Urgent()          # urgent data both ways (RFC 9293 3.8.5, RFC 6093)
        self.rcv_fin_seq = None      # where the peer's FIN sits, if it came out of order
        self.fin_rcvd = False
        # timers: deadlines on the ticks clock, None when stopped
        self.t_rtx = None            # retransmission, SYN retries, or persist (self.persist)
        self.persist = False
        self.t_delack = None
        self.t_keep = None
        self.t_close = None          # TIME_WAIT (2 MSL) or the orphaned FIN_WAIT_2 limit
        self.t_pto = None            # tail loss probe (RFC 8985 7.2)
        self.t_reo = None            # RACK reordering timer (RFC 8985 6.3)
        self.rtx_count = 0           # consecutive timeouts without progress
        self.rtt_seq = None          # segment being timed (Karn: only never-retransmitted ones)
        self.rtt_ts = 0
        self.dupacks = 0
        self.unacked_segs = 0        # full-sized segments received since our last ACK
        self.ack_now = False         # send an ACK before segment() returns
        self.ack_due = False         # send an ACK at the next poll(): after the input burst,
                                     # or after the user's reads opened the window
        self.keep_idle = self.keep_intvl = self.keep_cnt = 0
        self.keep_probes = 0
        self.last_rcv = now
        self.last_snd = now
        self.retransmits = 0         # segments retransmitted over the connection's life
        self.timeouts = 0
        self.challenge_acks = 0

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
            self.urg.queued(seq.add(data_seq(self), self.sndbuf.length))
        if n and st >= ESTABLISHED:
            output(self, self.tcp.stack.now)
        return n

    def recv(self, n, oob=False):
        """Up to n bytes; b"" at end of stream, None when nothing has arrived yet."""
        if oob:
            return self.urg.recv_oob(self.oobinline, self.error)
        rb = self.rcvbuf
        if rb.length:
            urg = self.urg
            if urg.urg_mark is not None:
                n = urg.read_size(rb, n, self.rcv_nxt, self.oobinline)
            if rb.length:
                out = rb.read(n)
                window_update(self)
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

    def keepalive(self, idle_ms, interval_ms, count):
        """Probe an idle connection (RFC 9293 3.8.4); idle_ms 0 turns keep-alive off."""
        self.keep_idle = idle_ms
        self.keep_intvl = interval_ms
        self.keep_cnt = count
        self.keep_probes = 0
        arm_keepalive(self, self.tcp.stack.now)

    def shutdown_write(self):
        """Send a FIN after the queued data (RFC 9293 3.10.4 CLOSE, half-close)."""
        st = self.state
        if self.fin_queued:
            return
        if st == SYN_SENT or st == LISTEN:
            destroy(self, 0)
            self.tcp.forget(self)
            return
        if st == CLOSED:
            raise oserror(ENOTCONN)
        if st == SYN_RECEIVED or st == ESTABLISHED:
            self.state = FIN_WAIT_1
        elif st == CLOSE_WAIT:
            self.state = LAST_ACK
        else:
            return
        self.fin_queued = True
        if st != SYN_RECEIVED:
            output(self, self.tcp.stack.now)

    def close(self):
        """Close both directions. Unread data means the peer's data was lost: reset instead
        (RFC 2525 2.17, as BSD and Linux do)."""
        if self.state == CLOSED:
            self.tcp.forget(self)
            return
        self.user_closed = True
        if self.rcvbuf.length:
            self.abort()
            return
        self.shutdown_write()
        if self.state == FIN_WAIT_2:
            arm_fin_wait2(self, self.tcp.stack.now)

    def abort(self):
        """RFC 9293 3.10.5 ABORT: reset a synchronized connection and drop everything."""
        reset(self, self.tcp.stack.now)
        self.tcp.forget(self)

    def info(self):
        rto = self.rto
        d = {
            "state": STATE_NAMES[self.state],
            "local": (self.lip, self.lport), "remote": (self.rip, self.rport),
            "mss": self.mss, "iss": self.iss, "irs": self.irs,
            "snd_una": self.snd_una, "snd_nxt": self.snd_nxt, "snd_max": self.snd_max,
            "snd_wnd": self.snd_wnd, "snd_wscale": self.snd_wscale,
            "rcv_nxt": self.rcv_nxt, "rcv_wnd": seq.sub(self.rcv_adv, self.rcv_nxt),
            "rcv_wscale": self.rcv_wscale, "sack": self.sack_ok,
            "srtt_ms": rto.srtt(), "rttvar_ms": rto.rttvar(), "rto_ms": rto.value(),
            "retransmits": self.retransmits, "timeouts": self.timeouts,
            "challenge_acks": self.challenge_acks,
            "unacked": seq.sub(self.snd_max, self.snd_una), "send_queue": self.sndbuf.length,
            "recv_queue": self.rcvbuf.length, "ooo_ranges": len(self.rcvbuf.ranges),
            "error": self.error,
        }
        if self.cc is not None:
            d.update(self.cc.info())
        return d

    # -- opening -------------------------------------------------------------------------

    def open_active(self, iss, now):
        """RFC 9293 3.10.1 OPEN (active): send SYN, enter SYN_SENT."""
        self._set_iss(iss)
        self.state = SYN_SENT
        send_syn(self, now)

    def open_passive(self, seg, iss, now):
        """RFC 9293 3.10.7.2: a SYN reached a listener; we answer with SYN,ACK."""
        self._set_iss(iss)
        take_syn(self, seg)
        self.snd_wnd = seg.wnd          # RFC 7323 2.2: the window in a SYN is never scaled
        self.snd_wl1 = seg.seq
        self.max_sndwnd = seg.wnd
        self.state = SYN_RECEIVED
        send_syn(self, now)

    def _set_iss(self, iss):
        self.iss = self.snd_una = self.snd_wl2 = iss
        self.snd_nxt = self.snd_max = seq.add(iss, 1)

    def _established(self, now):
        self.state = ESTABLISHED
        self.cc = NewReno(self.mss, sack=self.sack_ok)
        if self.sack_ok:
            self.sb = Scoreboard(self.mss)
            if self.tcp.cfg["rack"]:
                self.rack = RACK(self.snd_una, self.tcp.cfg["rack_segs"])
                if self.rto.srtt8:
                    self.rack.rtt_sample(self.rto.srtt())    # the handshake's round trip
        self.rtx_count = 0
        self.rto.reset_backoff()
        arm_keepalive(self, now)
        self.tcp.count("established")

    # -- segment arrival -----------------------------------------------------------------

    def segment(self, seg, now, backlog_full=False):
        """Process one segment addressed to this connection (RFC 9293 3.10.7.3 / 3.10.7.4).
        backlog_full: a passive open's listener has no room in its accept queue, so the
        handshake may not complete yet (the owner moves a completed one to that queue)."""
        if self.state == SYN_SENT:
            self._syn_sent(seg, now)
        else:
            self._synchronized(seg, now, backlog_full)
        if self.state != CLOSED:
            flush_ack(self, now)

    def _syn_sent(self, seg, now):
        flags = seg.flags
        tcp = self.tcp
        if flags & ACK:
            # RFC 9293 3.10.7.3 first: an ACK for something we never sent
            if seq.le(seg.ack, self.iss) or seq.gt(seg.ack, self.snd_max):
                if not flags & RST:
                    tcp.send_rst(self.lip, self.rip, self.lport, self.rport, seg.ack, 0, RST)
                return
        if flags & RST:
            # second: refused, but only when the RST acknowledges our SYN (RFC 5961 3.2 note)
            if flags & ACK:
                tcp.count("conn_refused")
                destroy(self, ECONNREFUSED)
            return
        if not flags & SYN:
            return
        take_syn(self, seg)
        if flags & ACK:
            self.snd_una = seg.ack
            self.snd_wnd = seg.wnd          # RFC 7323 2.2: unscaled in a SYN
            self.max_sndwnd = seg.wnd
            self.snd_wl1 = seg.seq
            self.snd_wl2 = seg.ack
            self._rtt_from_syn(now)
            self._established(now)
            self.t_rtx = None
            self.ack_now = True
            output(self, now)
        else:
            # simultaneous open (RFC 9293 3.5 figure 7): answer SYN,ACK with our ISS
            self.snd_wnd = seg.wnd
            self.max_sndwnd = seg.wnd
            self.snd_wl1 = seg.seq
            self.state = SYN_RECEIVED
            send_syn(self, now)

    def _rtt_from_syn(self, now):
        # Karn: the SYN's round trip counts only if the SYN went out once
        if self.rtx_count == 0:
            self.rto.sample(ticks.diff(now, self.last_snd))

    def _synchronized(self, seg, now, backlog_full):
        st = self.state
        flags = seg.flags
        payload = seg.payload
        plen = len(payload)
        seglen = plen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        s = seg.seq
        if st == SYN_RECEIVED and flags & SYN and flags & ACK and s == self.irs and \
                seg.ack == self.snd_max and not plen:
            # Simultaneous open (RFC 9293 figure 7): the peer's SYN,ACK repeats a SYN we
            # have; its ACK completes our side. Linux takes the same shortcut.
            flags &= ~SYN
            seg.flags = flags
            s = seg.seq = seq.add(s, 1)
            seglen = 0
        wnd = seq.sub(self.rcv_adv, self.rcv_nxt)
        off = seq.sub(s, self.rcv_nxt)
        # RFC 9293 3.10.7.4 first: sequence number acceptability (the four cases)
        if seglen == 0:
            ok = off == 0 if wnd == 0 else 0 <= off < wnd
        else:
            ok = wnd > 0 and (0 <= off < wnd or 0 <= off + seglen - 1 < wnd)
            if not ok and wnd == 0 and off == 0:
                # A probe into our zero window: its ACK and RST still count (RFC 9293
                # 3.10.7.4 "special allowance"); the data is trimmed away below.
                ok = True
        if not ok:
            if st == SYN_RECEIVED and flags & SYN and not flags & ACK and s == self.irs:
                send_syn(self, now)          # the peer lost our SYN,ACK
                return
            self.tcp.count("rx_out_of_window")
            if not flags & RST:
                if st == TIME_WAIT and flags & FIN:
                    arm_close(self, now, 2 * self.tcp.cfg["msl_ms"])   # RFC 9293 3.10.7.4
                self.ack_now = True
            return
        # second: RST (RFC 5961 3.2: exact match resets, otherwise a challenge ACK)
        if flags & RST:
            if off == 0:
                self._reset_received()
            else:
                self._challenge_ack(now)
            return
        # fourth: SYN in a synchronized state (RFC 5961 4.2)
        if flags & SYN:
            self._challenge_ack(now)
            return
        # fifth: ACK
        if not flags & ACK:
            return
        self.last_rcv = now
        self.keep_probes = 0
        if st == SYN_RECEIVED:
            if seq.lt(self.snd_una, seg.ack) and seq.le(seg.ack, self.snd_max):
                if backlog_full:
                    self.tcp.count("accept_queue_full")
                    return      # accept queue full: stay half-open, the peer retries
                self.snd_una = seq.add(self.iss, 1)
                self._rtt_from_syn(now)
                self.t_rtx = None
                self.snd_wnd = seg.wnd << self.snd_wscale
                self.snd_wl1 = s
                self.snd_wl2 = seg.ack
                self._established(now)
                if self.fin_queued:
                    self.state = FIN_WAIT_1
                st = self.state
            else:
                self.tcp.send_rst(self.lip, self.rip, self.lport, self.rport, seg.ack, 0, RST)
                return
        # RFC 5961 5.2: an ACK for data never sent, or too old to be a real one, draws a
        # challenge ACK and the segment is dropped
        ack = seg.ack
        if seq.gt(ack, self.snd_max) or seq.lt(ack, seq.add(self.snd_una, -self.max_sndwnd)):
            self._challenge_ack(now)
            return
        ack_received(self, seg, plen, now)
        st = self.state
        if self.fin_acked:
            if st == FIN_WAIT_1:
                self.state = st = FIN_WAIT_2
                if self.user_closed:
                    arm_fin_wait2(self, now)
            elif st == CLOSING:
                self._enter_time_wait(now)
                return
            elif st == LAST_ACK:
                destroy(self, 0)
                return
        if st == TIME_WAIT:
            if flags & FIN:
                self.ack_now = True
                arm_close(self, now, 2 * self.tcp.cfg["msl_ms"])
            return
        # sixth: URG (RFC 9293 3.10.7.4, RFC 6093: the pointer is one past the urgent byte)
        if flags & URG and in_data_states(st) and seg.urp:
            self.urg.received(seq.add(s, seg.urp), self.rcv_nxt, self.rcvbuf.length,
                              self.oobinline)
        # seventh: segment text
        if plen or flags & FIN:
            if in_data_states(st):
                if plen and self.user_closed:
                    # Nobody will read this: tell the peer (RFC 9293 3.10.7.4, Linux does too).
                    reset(self, now)
                    return
                self._data(seg, off, wnd, plen, now)
            elif plen:
                self.tcp.count("rx_after_fin")

    def _reset_received(self):
        # RFC 9293 3.10.7.4 second
        st = self.state
        self.tcp.count("rst_rx")
        if st == SYN_RECEIVED and self.listener is not None:
            destroy(self, 0)                 # a passive open just goes away
        elif st == SYN_RECEIVED:
            destroy(self, ECONNREFUSED)
        elif st <= CLOSE_WAIT:
            destroy(self, ECONNRESET)
        else:
            destroy(self, 0)                 # CLOSING, LAST_ACK, TIME_WAIT

    def _challenge_ack(self, now):
        # RFC 5961 3.2, 4.2, 5.2 with the rate limit of section 7
        if self.tcp.challenge_allowed(now):
            self.challenge_acks += 1
            self.tcp.count("challenge_ack")
            self.ack_now = True

    def _data(self, seg, off, wnd, plen, now):
        """Seventh and eighth: place data and FIN (RFC 9293 3.10.7.4), in order or not."""
        payload = seg.payload
        fin = seg.flags & FIN
        start = 0
        if off < 0:
            start = -off                     # already have the front of it
            off = 0
        end = plen
        if off + (end - start) > wnd:
            end = start + wnd - off          # beyond the window: cut, and the FIN with it
            fin = 0
        n = end - start
        rb = self.rcvbuf
        if n > 0:
            rb.store(off, payload[start:end])
        if off == 0:
            if n > 0:
                had_gap = bool(rb.ranges)
                before = self.rcv_nxt
                self.rcv_nxt = rb.advance(n, before)
                # Counts what became readable: a gap fill delivers the queued data behind it.
                self.tcp.count("rx_bytes", seq.sub(self.rcv_nxt, before))
                if had_gap:
                    self.ack_now = True      # RFC 5681 4.2: a gap fill is acked at once
                if self.urg.urg_seq is not None:
                    self.urg.arrived(rb, self.rcv_nxt)
                if n >= self.mss:
                    self.unacked_segs += 1
                    if self.unacked_segs >= 2:
                        # RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second full
                        # segment, counted between ACK opportunities. The runner's poll() after
                        # a burst of frames is the opportunity: one ACK then covers the whole
                        # burst, as Linux sends one per GRO batch (RFC 9293 3.8.6.3 names GRO
                        # among the practices that reduce ACKs). Out-of-order data, gap fills
                        # and FINs are still acked at once (ack_now).
                        self.ack_due = True
                if self.t_delack is None:
                    self.t_delack = ticks.add(now, self.tcp.cfg["delack_ms"])
            if fin:
                if self.rcv_fin_seq is None or self.rcv_nxt == self.rcv_fin_seq \
                        or seq.add(seg.seq, plen) == self.rcv_nxt:
                    self.rcv_fin_seq = seq.add(seg.seq, plen)
        else:
            # out of order: RFC 5681 4.2 asks for an immediate duplicate ACK
            self.ack_now = True
            self.tcp.count("rx_ooo")
            if n > 0:
                left = seq.add(self.rcv_nxt, off)
                if not rb.add_range(left, seq.add(left, n)):
                    self.tcp.count("drop_ooo_full")
            if fin:
                self.rcv_fin_seq = seq.add(seg.seq, plen)
        if self.rcv_fin_seq is not None and self.rcv_fin_seq == self.rcv_nxt:
            self._fin_received(now)

    def _fin_received(self, now):
        # RFC 9293 3.10.7.4 eighth
        self.rcv_nxt = seq.add(self.rcv_nxt, 1)
        self.rcv_adv = seq.add(self.rcv_adv, 1) if seq.lt(self.rcv_adv, self.rcv_nxt) \
            else self.rcv_adv
        self.fin_rcvd = True
        self.rcv_fin_seq = None
        self.ack_now = True
        st = self.state
        if st == ESTABLISHED or st == SYN_RECEIVED:
            self.state = CLOSE_WAIT
        elif st == FIN_WAIT_1:
            if self.fin_acked:
                self._enter_time_wait(now)
            else:
                self.state = CLOSING
        elif st == FIN_WAIT_2:
            self._enter_time_wait(now)

    def _enter_time_wait(self, now):
        self.state = TIME_WAIT
        self.t_rtx = self.t_pto = self.t_reo = None
        self.persist = False
        self.t_keep = None
        arm_close(self, now, 2 * self.tcp.cfg["msl_ms"])

    # -- timers --------------------------------------------------------------------------

    def poll(self, now):
        """Run due timers; -> ms until the next one, or None (timers.poll)."""
        return timers.poll(self, now)

    # -- errors and teardown -------------------------------------------------------------

    def icmp_error(self, icmp_type, code, err, mtu, quoted_seq, now):
        """An ICMP error about a segment we sent (RFC 5927 4.1 validated by the caller)."""
        st = self.state
        if mtu:
            # RFC 1191 fragmentation needed: shrink the MSS and resend at once
            new = mtu - 40
            if MIN_MSS <= new < self.mss:
                self.mss = new
                if self.cc is not None:
                    self.cc.mss = new
                if self.sb is not None:
                    self.sb.mss = new
                self.tcp.count("pmtu_update")
                if st >= ESTABLISHED and self.snd_max != self.snd_una:
                    self.snd_nxt = self.snd_una
                    output(self, now)
            return
        if st == SYN_SENT or (st == SYN_RECEIVED and self.listener is None):
            # Linux aborts a connection attempt on a destination-unreachable (tcp_v4_err)
            if icmp_type == 3:
                destroy(self, err)
                return
        # RFC 1122 4.2.3.9, RFC 5461: soft errors in synchronized states
        self.soft_error = err
