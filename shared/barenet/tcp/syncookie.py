"""SYN cookies (RFC 4987 3.6, in the manner of Linux net/ipv4/syncookies.c): when a listener's
SYN queue is full, the SYN-ACK's ISN carries what the half-open entry would have held, and the
returning ACK (its ACK field minus one) is checked instead of looked up.

Pure functions over the TCP object's ISN secret; time is the caller's coarse counter (`tick`).

The 32-bit cookie, before the first hash is added to it (as Linux adds hash1 + the peer's ISN,
so that no field shows through on the wire):

    bits 31-30  the counter's low 2 bits (64 s ticks; the current and 2 previous are accepted)
    bits 29-28  the MSS, as an index into MSS_TABLE (Linux msstab)
    bits 27-24  the peer's window scale, 0-14, or 15 for none (RFC 7323 1.3: both or neither)
    bit  23     SACK-permitted (RFC 2018 2)
    bits 22-0   a keyed hash of the 4-tuple, the peer's ISN, the counter and bits 29-23

The trade-off: Linux without TCP timestamps keeps only the MSS, in the low 24 bits with the
hash (22 bits of hash are checked), and loses window scale and SACK. barenet has no timestamps
either, so it spends 5 more bits on those two: a connection made from a cookie keeps a large
window and SACK recovery. That leaves 23 hash bits. A blind guess (an ACK with a random ACK field) passes when its
counter bits are one of the 3 accepted values of 4 and its 23 hash bits match: (3/4) * 2**-23,
about 2**-23.4 per ACK, well under the 2**-16 issue 8 allows. The data bits are covered by
the hash, so a forged MSS or window scale fails like any wrong guess.
"""

import hashlib
import struct

from ..compat import const

MSS_TABLE = (536, 1300, 1440, 1460)    # Linux msstab (IPv4): the common MSS values
TICK_MS = const(64000)                 # Linux: a 64 s counter (tcp_cookie_time)
MAX_AGE = const(2)                     # Linux MAX_SYNCOOKIE_AGE: 2 to 3 minutes of validity
_NO_WSCALE = const(15)
_HASH_MASK = const(0x7FFFFF)
_TICKS = const(0xFFFFFF)               # the counter as hashed: wraps after 34 years
_MASK = 0xFFFFFFFF                     # a heap int on 32-bit ports: cookies are a rare path


def mss_index(mss):
    """The largest table entry not above the peer's MSS (Linux: the same search)."""
    i = len(MSS_TABLE) - 1
    while i > 0 and MSS_TABLE[i] > mss:
        i -= 1
    return i


def _hash(secret, tag, lip, lport, rip, rport, peer_isn, extra):
    h = hashlib.sha256(secret + tag + lip + rip +
                       struct.pack("!HHII", lport, rport, peer_isn, extra)).digest()
    return struct.unpack("!I", h[0:4])[0]


def encode(secret, lip, lport, rip, rport, peer_isn, tick, mss, wscale, sack):
    """The ISN of a cookie SYN-ACK: mss is the peer's (its SYN's MSS option or 536), wscale
    its window scale or None, sack whether SACK is agreed."""
    data = mss_index(mss) << 5 | (_NO_WSCALE if wscale is None else min(wscale, 14)) << 1 | \
        (1 if sack else 0)
    t = tick & 3
    h = _hash(secret, b"2", lip, lport, rip, rport, peer_isn, (tick & _TICKS) << 8 | data)
    v = t << 30 | data << 23 | (h & _HASH_MASK)
    return (v + _hash(secret, b"1", lip, lport, rip, rport, peer_isn, 0)) & _MASK


def check(secret, lip, lport, rip, rport, peer_isn, cookie, tick):
    """The options a cookie encodes, (mss, wscale or None, sack), or None when it is not one
    we made within the last MAX_AGE ticks for this 4-tuple and peer ISN."""
    v = (cookie - _hash(secret, b"1", lip, lport, rip, rport, peer_isn, 0)) & _MASK
    age = (tick - (v >> 30)) & 3
    if age > MAX_AGE:
        return None
    data = (v >> 23) & 0x7F
    t = (tick - age) & _TICKS
    h = _hash(secret, b"2", lip, lport, rip, rport, peer_isn, t << 8 | data)
    if (h & _HASH_MASK) != (v & _HASH_MASK):
        return None
    ws = (data >> 1) & 15
    return MSS_TABLE[data >> 5], (None if ws == _NO_WSCALE else ws), bool(data & 1)
