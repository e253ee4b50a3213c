"""Urgent data (RFC 9293 3.8.5, RFC 6093): where our urgent byte and the peer's sit in the
stream, and the byte BSD sockets hand out of band.

One `Urgent` per TCB. Output asks it for the urgent pointer of each segment, input tells it
about URG and about data reaching the peer's urgent byte, and the user's reads ask it where to
stop. Pointers follow RFC 6093 and Linux: the urgent pointer is one past the urgent byte.
Sequence numbers only, as the TCB's offsets (plain ints, tcp/state.py); the buffers stay with
the TCB and come in as arguments.
"""

from ..compat import oserror, EINVAL


class Urgent:
    def __init__(self):
        self.snd_up = None           # sequence number just past our urgent byte
        self.rcv_up = None           # same for the peer's urgent data (RFC 6093: Linux-style)
        self.urg_seq = None          # the peer's urgent byte, not received yet
        self.urg_mark = None         # where that byte sits in the stream (skipped by recv)
        self.oob_byte = None

    # -- ours ----------------------------------------------------------------------------

    def queued(self, end):
        """send(oob=True) queued data up to end."""
        # BSD: the last byte written is the urgent one; the pointer goes one past it,
        # which is what Linux sends and expects (RFC 6093 3).
        self.snd_up = end

    def pointer(self, sq):
        """The urgent pointer of a data segment starting at sq; 0: no URG on it."""
        if self.snd_up > sq:
            d = self.snd_up - sq
            if d <= 0xFFFF:
                return d
        return 0

    def acked(self, ack):
        if ack >= self.snd_up:
            self.snd_up = None

    def rebase_snd(self, d):
        """The send side's base moved up by d (state.rebase)."""
        if self.snd_up is not None:
            self.snd_up -= d

    # -- the peer's ----------------------------------------------------------------------

    def received(self, up, rcv_nxt, unread, inline):
        """The URG step of input (RFC 9293 3.10.7.4 sixth): the peer's pointer is up; unread
        bytes wait in the receive buffer before rcv_nxt; inline: SO_OOBINLINE."""
        if self.rcv_up is not None and up <= self.rcv_up:
            return
        self.rcv_up = up
        if inline:
            # The byte stays in the stream, but a read still stops at it (BSD, Linux), so
            # the application can tell where the urgent data begins.
            mark = up - 1
            if mark >= rcv_nxt - unread:
                self.urg_mark = mark
        else:
            # a newer urgent byte replaces an unread one (BSD keeps only the last)
            self.urg_seq = up - 1
            if self.urg_seq < rcv_nxt:
                self.urg_seq = None      # already delivered in-line: too late to pull out

    def arrived(self, rb, rcv_nxt):
        """In-order data moved rcv_nxt (urg_seq is set): take the urgent byte once it is in."""
        if self.urg_seq < rcv_nxt:
            off = rb.length - (rcv_nxt - self.urg_seq)
            self.oob_byte = rb.byte_at(off)
            self.urg_mark = self.urg_seq
            self.urg_seq = None

    def read_size(self, rb, n, head, inline):
        """How much of n a read may take (urg_mark is set; head: the sequence offset of the
        next byte to read): a read stops at the mark, and the urgent byte itself is skipped
        unless it stays in line."""
        d = self.urg_mark - head
        if d == 0:
            if not inline:
                rb.discard(1)   # the urgent byte was taken out of the stream
            self.urg_mark = None
            # Linux: a read past the mark ends the urgent data (tcp_recvmsg clears urg_data
            # once copied_seq passes urg_seq): recv(MSG_OOB) is EINVAL from then on
            self.oob_byte = None
        elif d < n:
            n = d               # BSD: a read stops at the urgent mark
        return n

    def rebase_rcv(self, d):
        """The receive side's base moved up by d (state.rebase)."""
        if self.rcv_up is not None:
            self.rcv_up -= d
        if self.urg_seq is not None:
            self.urg_seq -= d
        if self.urg_mark is not None:
            self.urg_mark -= d

    def recv_oob(self, inline, error):
        """recv(oob=True): the urgent byte, or None; error: the connection's errno."""
        if inline:
            raise oserror(EINVAL)
        b = self.oob_byte
        if b is None:
            if error:
                raise oserror(error)
            return None
        self.oob_byte = None
        return bytes((b,))


def urgent(tcb):
    """tcb's urgent state, made on first use (tcb.urg is None until then)."""
    if tcb.urg is None:
        tcb.urg = Urgent()
    return tcb.urg
