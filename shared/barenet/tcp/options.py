"""TCP options: what we offer and accept on SYN and SYN,ACK (MSS, window scale, SACK-permitted;
RFC 9293 3.7.1, RFC 7323, RFC 2018), and how much room options take from each segment's payload.

Whether timestamps are used is decided here too; what they do is timestamps.py's. The option
bytes themselves are built and parsed in `wire/tcp.py`; this module decides which ones a
connection uses.
"""

from ..compat import const
from . import timestamps
from .state import SYN_SENT, set_rcv_base

DEFAULT_MSS = const(536)    # RFC 9293 3.7.1: assumed when the peer sends no MSS option
MIN_MSS = const(88)         # floor for PMTU-driven reductions (Linux tcp_min_snd_mss is 48)
_MAX_WSCALE = const(14)     # RFC 7323 2.3
SACK_BLOCKS = const(4)      # RFC 2018 3: four blocks fit when timestamps are not used,
SACK_BLOCKS_TS = const(3)   # three beside NOP,NOP,TS (12 + 2 + 3 * 8 + 2 NOPs = 40 bytes)
TS_LEN = const(12)          # NOP, NOP, TS on every segment once agreed (RFC 7323 3.2)


def rcv_wscale(bufsize):
    """The window scale we ask for: the smallest that lets the whole buffer be offered."""
    ws = 0
    while ws < _MAX_WSCALE and (bufsize >> ws) > 0xFFFF:
        ws += 1
    return ws


def syn_offer(tcb):
    """The window scale (None: no option), SACK-permitted flag and whether a timestamp goes
    in our SYN or SYN,ACK; the MSS option always offers tcb.mss_local."""
    c = tcb.tcp.cfg
    if tcb.state == SYN_SENT:
        return (tcb.rcv_wscale if c.wscale else None), c.sack, c.timestamps
    # RFC 7323 1.3, 3.2, RFC 2018 2: a SYN,ACK offers only what the peer's SYN offered
    return (tcb.rcv_wscale if tcb.ws_ok else None), tcb.sack_ok, tcb.ts is not None


def take_syn(tcb, seg):
    """Record the peer's SYN: its ISN and options (RFC 9293 3.10.7.2/3, RFC 7323, 2018)."""
    set_rcv_base(tcb, seg)              # IRS is receive offset 0; RCV.NXT = IRS + 1
    timestamps.take_syn(tcb, seg)
    if tcb.tcp.cfg.ecn:
        from .ecn import take_syn
        take_syn(tcb, seg)              # RFC 3168 6.1.1
    agree(tcb, seg.mss, seg.wscale, seg.sack_perm)


def agree(tcb, mss, wscale, sack_perm):
    """The options the connection uses, from those of the peer's SYN (or what a SYN cookie
    kept of them, syncookie.py): mss and wscale None when the SYN had no such option."""
    c = tcb.tcp.cfg
    tcb.ws_ok = wscale is not None and c.wscale
    if tcb.ws_ok:
        tcb.snd_wscale = min(wscale, _MAX_WSCALE)        # RFC 7323 2.3: clamp at 14
    else:
        tcb.snd_wscale = 0                               # RFC 7323 1.3: both or neither
        tcb.rcv_wscale = 0
    tcb.sack_ok = sack_perm and c.sack
    # tcb.mss is the send MSS: what a segment's data may be with the options every segment
    # carries, the SMSS of RFC 5681 (Linux's mss_cache: 1448 with timestamps behind 1460)
    tcb.mss = min(tcb.mss_local, mss if mss else DEFAULT_MSS) - fixed_options(tcb)
    if tcb.mss < MIN_MSS:
        tcb.mss = MIN_MSS
    tcb.rcv_adv = tcb.rcv_nxt + max_window(tcb)


def max_window(tcb):
    # The most our window scale can advertise of the free buffer.
    return min(tcb.rcvbuf.free(), 0xFFFF << tcb.rcv_wscale)


def fixed_options(tcb):
    """Bytes of options on every segment after the SYNs (RFC 6691: not counted in the MSS)."""
    return TS_LEN if tcb.ts is not None else 0


def sack_blocks(tcb):
    """How many SACK blocks our segments carry at most (RFC 2018 3)."""
    return SACK_BLOCKS_TS if tcb.ts is not None else SACK_BLOCKS


def payload_mss(tcb):
    # RFC 6691: the MSS counts data only, so SACK options take room from the payload (the
    # timestamp's room is out of tcb.mss already, agree())
    n = len(tcb.rcvbuf.ranges) if tcb.sack_ok else 0
    return tcb.mss - (4 + 8 * min(n, sack_blocks(tcb)) if n else 0)
