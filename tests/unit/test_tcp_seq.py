"""Sequence arithmetic modulo 2**32 (RFC 9293 3.4), including across the wrap."""

from hypothesis import given, strategies as st

from barenet.tcp import seq

u32 = st.integers(0, 2**32 - 1)
dist = st.integers(-(2**31) + 1, 2**31 - 1)


def test_wrap_edges():
    top = 2**32 - 1
    assert seq.lt(top, 0) and seq.gt(0, top)
    assert seq.le(7, 7) and seq.ge(7, 7) and not seq.lt(7, 7) and not seq.gt(7, 7)
    assert seq.sub(0, top) == 1 and seq.sub(top, 0) == -1
    assert seq.add(top, 2) == 1 and seq.add(1, -2) == top


@given(u32, dist)
def test_add_sub_roundtrip(a, d):
    b = seq.add(a, d)
    assert 0 <= b < 2**32
    assert seq.sub(b, a) == d
    assert seq.lt(a, b) == (d > 0)
    assert seq.le(a, b) == (d >= 0)
    assert seq.gt(a, b) == (d < 0)
    assert seq.ge(a, b) == (d <= 0)
