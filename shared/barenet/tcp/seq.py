"""TCP sequence-number arithmetic modulo 2**32 (RFC 9293 3.4): the one place it lives.

A connection keeps its sequence state as offsets from two bases, one per direction (tcb.py:
the send side's starts at the ISS, the receive side's at the IRS). Offsets are plain ints that
do not wrap, compared with `<`; on a 32-bit MicroPython port they stay small ints (below
2**30) because a base moves forward (`rebase` in tcb.py) once an offset grows past a bound.
The wrap is handled here, once, at the edge: `rel` turns a 32-bit value from the wire, read as
two 16-bit halves so that no value >= 2**30 is ever made, into an offset; `hi` and `lo` give
the halves of base + offset that go back on the wire. A base itself is kept as halves too.

The modular helpers (`add`, `sub`, `lt`, `le`, `gt`, `ge`) are for values that are absolute
32-bit numbers (RSTs for closed ports, ISNs, ICMP quotes, SACK option blocks), and for the
recovery algorithms (congestion.py, sack.py, rack.py), which take either absolute values or a
connection's offsets. They take small ints within 2**30 of each other through small ints
only, so they allocate nothing for them on a 32-bit port; the masks below are heap ints there
and are touched only when two values are 2**30 or more apart.
"""

from ..compat import const

# Plain names, not const(): these exceed MicroPython's small-int range on 32-bit ports.
MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31
# The largest small int on a 32-bit port: distances within it need no modular reduction.
_NEAR = const(0x3FFFFFFF)


def add(a, n):
    """a + n modulo 2**32 (n may be negative)."""
    r = a + n
    if 0 <= r <= _NEAR:
        return r
    return r & MASK


def sub(a, b):
    """Signed distance a - b, in [-2**31, 2**31)."""
    d = a - b
    if -_NEAR <= d <= _NEAR:
        return d
    return ((d + HALF) & MASK) - HALF


def lt(a, b):
    d = a - b
    if -_NEAR <= d <= _NEAR:
        return d < 0
    return ((d + HALF) & MASK) < HALF


def le(a, b):
    d = a - b
    if -_NEAR <= d <= _NEAR:
        return d <= 0
    return ((d + HALF) & MASK) <= HALF


def gt(a, b):
    d = a - b
    if -_NEAR <= d <= _NEAR:
        return d > 0
    return ((d + HALF) & MASK) > HALF


def ge(a, b):
    d = a - b
    if -_NEAR <= d <= _NEAR:
        return d >= 0
    return ((d + HALF) & MASK) >= HALF


# -- the edge: 32-bit values as 16-bit halves, offsets from a base --------------------------

def rel(vh, vl, bh, bl, ref):
    """The offset from the base (bh, bl) of the 32-bit value (vh, vl), all as 16-bit halves:
    of the offsets that name that value (every 2**32 apart), the one in [ref - 2**31,
    ref + 2**31), so that it compares with ref as the modular helpers would. Small ints
    throughout when the value lies within 2**30 of base + ref."""
    dl = vl - bl - (ref & 0xFFFF)
    dh = (vh - bh - (ref >> 16) + (dl >> 16)) & 0xFFFF      # dl >> 16: the borrow
    if dh >= 0x8000:
        dh -= 0x10000
    return ref + (dh << 16) + (dl & 0xFFFF)


def hi(bh, bl, off):
    """The high 16 bits of base + off modulo 2**32, the base as halves (off may be negative)."""
    return (bh + (off >> 16) + ((bl + (off & 0xFFFF)) >> 16)) & 0xFFFF


def lo(bl, off):
    """The low 16 bits of base + off."""
    return (bl + (off & 0xFFFF)) & 0xFFFF


def value(h, l):
    """The 32-bit value of the halves (h, l): for the rare paths (a heap int on 32-bit ports
    when >= 2**30)."""
    return (h << 16) | l
