"""Wrap-safe millisecond arithmetic.

MicroPython's time.ticks_ms() wraps at 2**30 ms (about 12.4 days); every runner reduces its
clock to the same period, and all deadline arithmetic in the core goes through these helpers
so a board keeps working after the wrap. They compute in small ints (nothing is allocated on a
32-bit port, where 2**30 itself is a heap int), also for values on either side of the wrap.
"""

from .compat import const

PERIOD = const(1 << 30)
_MASK = const((1 << 30) - 1)
_HALF = const(1 << 29)


def add(t, delta):
    """t + delta on the wrapping clock."""
    # t + delta itself can reach 2**30, a heap int on 32-bit ports: work below the period.
    r = t - _MASK + delta
    if r > 0:
        r -= 1                          # past the wrap
        if r <= _MASK:
            return r
    elif r >= -_MASK:
        return r + _MASK
    return (t + delta) & _MASK          # delta of a period or more


def diff(a, b):
    """Signed a - b on the wrapping clock (like time.ticks_diff)."""
    # As ((a - b + 2**29) & _MASK) - 2**29, without the sum, which can reach 2**30.
    d = a - b
    if -_HALF <= d < _HALF:
        return d
    if _HALF <= d <= _MASK:
        return d - _MASK - 1
    if -_MASK <= d < -_HALF:
        return d + _MASK + 1
    return ((d + _HALF) & _MASK) - _HALF    # arguments off the clock


def due(deadline, now):
    """True when deadline has been reached at now."""
    return diff(now, deadline) >= 0


def until(deadline, now):
    """Milliseconds from now to deadline, 0 if it has passed."""
    d = diff(deadline, now)
    return d if d > 0 else 0


def earliest(wait, other):
    """Combine two 'ms until next event' values, where None means no event."""
    if wait is None:
        return other
    if other is None or wait < other:
        return wait
    return other


def oldest(table, i):
    """The key of table (a dict of lists) whose item i, a time on this clock, is the earliest;
    None when the table is empty. For evicting the stalest entry of a bounded table."""
    old = None
    t = 0
    for k, v in table.items():
        if old is None or diff(v[i], t) < 0:
            old = k
            t = v[i]
    return old
