"""What every part of a TCB agrees on: the connection states (RFC 9293 3.3.2), the header flag
bits, the one transition any step may take (the fall to CLOSED), when a connection gives its
buffers back, and where its sequence numbers are.

Sequence numbers: a TCB keeps every one of them as an offset from a base, one base per
direction, so that its comparisons are plain `<` on small ints (tcp/seq.py says why). The send
side's base starts at the ISS (`set_snd_base`), the receive side's at the IRS (`set_rcv_base`),
both held as 16-bit halves. A segment's SEQ and ACK become offsets when it arrives (`arrived`),
and offsets become 32-bit halves again only as a header is written (output.send_segment).
Once snd_una or rcv_nxt passes REBASE, `rebase` moves that side's base up to it, so offsets stay
below 2**30 on 32-bit ports however long the connection runs.

The lowest of the TCB's modules, above only the buffers, sequence arithmetic and the recovery
algorithms: the modules of the TCB import from here, and it imports none of them.
"""

from ..compat import const, ECONNRESET
# The header's flag bits as wire/tcp.py defines them: the TCB's modules take them from here
from ..wire.tcp import FIN, SYN, RST, PSH, ACK, URG  # noqa: F401
from . import seq

CLOSED = const(0)
LISTEN = const(1)
SYN_SENT = const(2)
SYN_RECEIVED = const(3)
ESTABLISHED = const(4)
FIN_WAIT_1 = const(5)
FIN_WAIT_2 = const(6)
CLOSE_WAIT = const(7)
CLOSING = const(8)
LAST_ACK = const(9)
TIME_WAIT = const(10)
STATE_NAMES = ("CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
               "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT")


def in_data_states(st):
    # States in which the peer may still send us data (RFC 9293 3.10.7.4 seventh).
    return st == ESTABLISHED or st == FIN_WAIT_1 or st == FIN_WAIT_2


def acceptable(off, seglen, wnd):
    """RFC 9293 3.10.7.4 first: is a segment of seglen (SYN and FIN counted) that starts off
    past RCV.NXT acceptable in a receive window of wnd (the four cases)?"""
    if seglen == 0:
        return off == 0 if wnd == 0 else 0 <= off < wnd
    if wnd > 0:
        return 0 <= off < wnd or 0 <= off + seglen - 1 < wnd
    # A probe into our zero window: its ACK and RST still count (RFC 9293 3.10.7.4 "special
    # allowance"); data() trims the data away.
    return off == 0


def destroy(tcb, err):
    """Enter CLOSED: stop every timer and record the error the user will see. The connection
    stays in TCP's tables until its owner (tcp/__init__.py) notices the state."""
    if err and not tcb.error:
        tcb.error = err
    if tcb.state != CLOSED:
        tcb.events += 1                 # a reader or writer learns the end (or the error)
        if err == ECONNRESET:
            tcb.tcp.count("conn_reset")
    tcb.state = CLOSED
    tcb.t_rtx = tcb.t_delack = tcb.t_keep = tcb.t_close = tcb.t_pto = tcb.t_reo = None
    tcb.persist = False
    tcb.ack_now = tcb.ack_due = False
    release(tcb)


def release(tcb):
    """Give back the buffers a connection no longer needs (it got them when it was
    established, ring.py): the send buffer once our FIN is acknowledged or the connection is
    gone, the receive buffer once nothing more can arrive (the peer's FIN, close(), CLOSED)
    and nothing is left unread. Memory is given back at close, not at TIME_WAIT's end."""
    st = tcb.state
    if tcb.fin_acked or st == CLOSED:
        tcb.sndbuf.release()
    if (tcb.fin_rcvd or tcb.user_closed or st == CLOSED) and not tcb.rcvbuf.length:
        tcb.rcvbuf.release()


# -- sequence space ------------------------------------------------------------------------

# A side's base moves once its offsets reach this (snd_una, rcv_nxt): far enough that it happens
# every 256 MB, near enough that offsets plus a window (at most 2**30 - 2**16 with the largest
# window scale, RFC 7323 2.3; a send buffer's worth in practice) stay small ints.
REBASE = const(1 << 28)


def set_snd_base(tcb, iss):
    """Our ISN (a 32-bit int) is offset 0 of the send side."""
    tcb.snd_bh = iss >> 16
    tcb.snd_bl = iss & 0xFFFF
    tcb.iss = tcb.snd_una = tcb.snd_wl2 = 0
    tcb.snd_nxt = tcb.snd_max = 1


def set_rcv_base(tcb, seg):
    """The peer's SYN: its SEQ, the IRS, is offset 0 of the receive side."""
    tcb.rcv_bh = seg.seq_hi
    tcb.rcv_bl = seg.seq_lo
    tcb.irs = seg.seq_off = 0
    tcb.rcv_nxt = 1


def seg_seq(tcb, seg):
    """SEG.SEQ as an offset: the one within 2**31 of rcv_nxt, so that `off = s - rcv_nxt` is
    the modular distance RFC 9293 3.4 compares."""
    return seq.rel(seg.seq_hi, seg.seq_lo, tcb.rcv_bh, tcb.rcv_bl, tcb.rcv_nxt)


def arrived(tcb, seg):
    """The edge, for a segment of this connection: its SEQ and ACK as offsets (seg.seq_off,
    seg.ack_off), the ACK taken within 2**31 of snd_una. Before the peer's SYN (SYN_SENT)
    there is no receive side yet: set_rcv_base fixes SEQ when the SYN is taken."""
    seg.ack_off = seq.rel(seg.ack_hi, seg.ack_lo, tcb.snd_bh, tcb.snd_bl, tcb.snd_una)
    seg.seq_off = seq.rel(seg.seq_hi, seg.seq_lo, tcb.rcv_bh, tcb.rcv_bl, tcb.rcv_nxt)


def snd_off(tcb, v):
    """A 32-bit value of our sequence space (a SACK block, an ICMP quote) as an offset, the one
    within 2**31 of snd_una."""
    return seq.rel(v >> 16, v & 0xFFFF, tcb.snd_bh, tcb.snd_bl, tcb.snd_una)


def snd_abs(tcb, off):
    """The 32-bit sequence number of a send-side offset (rare paths: info(), a reopen)."""
    return seq.value(seq.hi(tcb.snd_bh, tcb.snd_bl, off), seq.lo(tcb.snd_bl, off))


def rcv_abs(tcb, off):
    """The 32-bit sequence number of a receive-side offset (info(), SACK blocks we send)."""
    return seq.value(seq.hi(tcb.rcv_bh, tcb.rcv_bl, off), seq.lo(tcb.rcv_bl, off))


# The SACK blocks: 32-bit values in the option, offsets in the TCB. Only with loss or
# reordering; and out of line, since a comprehension inside a hot function would make its
# captured names cells, an allocation per call on MicroPython even when it never runs.

def snd_blocks(tcb, blocks):
    """The peer's SACK blocks (32-bit pairs) as send-side offsets, each taken near snd_una."""
    return [(snd_off(tcb, l), snd_off(tcb, r)) for l, r in blocks]


def rcv_blocks(tcb, ranges, most):
    """The first `most` receive-side ranges as 32-bit pairs, for the option we send."""
    return [(rcv_abs(tcb, l), rcv_abs(tcb, r)) for l, r in ranges[:most]]


def rebase(tcb):
    """Move a side's base up to snd_una or rcv_nxt once it has passed REBASE (input.segment
    calls this after a segment, when no step holds an offset in a local)."""
    if tcb.snd_una >= REBASE:
        move_snd(tcb, tcb.snd_una)
    if tcb.rcv_nxt >= REBASE:
        move_rcv(tcb, tcb.rcv_nxt)


def move_snd(tcb, d):
    """Move the send side's base up by d: every offset of the side, here and in the objects
    that keep some (congestion control, the SACK scoreboard, RACK, urgent data), moves down by
    d, so every comparison between them stays what it was and no 32-bit value changes."""
    tcb.snd_bh = seq.hi(tcb.snd_bh, tcb.snd_bl, d)
    tcb.snd_bl = seq.lo(tcb.snd_bl, d)
    tcb.iss -= d
    tcb.snd_una -= d
    tcb.snd_nxt -= d
    tcb.snd_max -= d
    tcb.snd_wl2 -= d
    tcb.high_rxt -= d
    if tcb.rtt_seq is not None:
        tcb.rtt_seq -= d
    if tcb.urg is not None:
        tcb.urg.rebase_snd(d)
    if tcb.cc is not None:
        tcb.cc.rebase(d)
    if tcb.sb is not None:
        tcb.sb.rebase(d)
    if tcb.rack is not None:
        tcb.rack.rebase(d)
    if tcb.undo is not None:
        tcb.undo.rebase(d)
    if tcb.ecn is not None:
        tcb.ecn.rebase(d)


def move_rcv(tcb, d):
    """The same for the receive side (its offsets are also in the receive buffer's ranges)."""
    tcb.rcv_bh = seq.hi(tcb.rcv_bh, tcb.rcv_bl, d)
    tcb.rcv_bl = seq.lo(tcb.rcv_bl, d)
    tcb.irs -= d
    tcb.rcv_nxt -= d
    tcb.rcv_adv -= d
    tcb.snd_wl1 -= d
    if tcb.ts is not None:
        tcb.ts.last_ack -= d
    if tcb.dsack is not None:
        tcb.dsack = None                # sent with the ACK the segment owed, before this
    if tcb.rcv_fin_seq is not None:
        tcb.rcv_fin_seq -= d
    if tcb.urg is not None:
        tcb.urg.rebase_rcv(d)
    tcb.rcvbuf.rebase(d)
