"""TCP sequence-number arithmetic modulo 2**32 (RFC 9293 3.4), the only place it lives.

Every comparison of sequence numbers in barenet goes through these helpers, so transfers that
cross the 2**32 wrap behave exactly like those that do not.  The helpers work the same on values
kept relative to the ISN (the connection code does that to stay in small ints on MicroPython).
"""

# Plain names, not const(): these exceed MicroPython's small-int range on 32-bit ports.
MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def add(a, n):
    """a + n modulo 2**32 (n may be negative)."""
    return (a + n) & MASK


def sub(a, b):
    """Signed distance a - b, in [-2**31, 2**31)."""
    return ((a - b + HALF) & MASK) - HALF


def lt(a, b):
    return ((a - b + HALF) & MASK) < HALF


def le(a, b):
    return ((a - b + HALF) & MASK) <= HALF


def gt(a, b):
    return ((a - b + HALF) & MASK) > HALF


def ge(a, b):
    return ((a - b + HALF) & MASK) >= HALF
