"""What every part of a TCB agrees on: the connection states (RFC 9293 3.3.2), the header flag
bits, the one transition any step may take (the fall to CLOSED), and when a connection gives
its buffers back.

The lowest of the TCB's modules, above only the buffers, sequence arithmetic and the recovery
algorithms: the modules of the TCB import from here, and it imports none of them.
"""

from ..compat import const, ECONNRESET

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

FIN = const(0x01)
SYN = const(0x02)
RST = const(0x04)
PSH = const(0x08)
ACK = const(0x10)
URG = const(0x20)


def in_data_states(st):
    # States in which the peer may still send us data (RFC 9293 3.10.7.4 seventh).
    return st == ESTABLISHED or st == FIN_WAIT_1 or st == FIN_WAIT_2


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
