"""Wrap-safe millisecond arithmetic.

MicroPython's time.ticks_ms() wraps at 2**30 ms (about 12.4 days); every runner reduces its
clock to the same period, and all deadline arithmetic in the core goes through these helpers
so a board keeps working after the wrap.
"""

from .compat import const

PERIOD = const(1 << 30)
_MASK = const((1 << 30) - 1)
_HALF = const(1 << 29)


def add(t, delta):
    """t + delta on the wrapping clock."""
    return (t + delta) & _MASK


def diff(a, b):
    """Signed a - b on the wrapping clock (like time.ticks_diff)."""
    return ((a - b + _HALF) & _MASK) - _HALF


def due(deadline, now):
    """True when deadline has been reached at now."""
    return ((now - deadline + _HALF) & _MASK) - _HALF >= 0


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
