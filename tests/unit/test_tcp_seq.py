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


# -- the helpers' small-int path gives the modular answer ----------------------------------

def _ref_sub(a, b):
    # RFC 9293 3.4 signed distance, the formula the helpers used before their small-int path
    return ((a - b + 2**31) & (2**32 - 1)) - 2**31


near = st.sampled_from([0, 1, 2**30 - 1, 2**30, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1])


@given(st.one_of(u32, near), st.one_of(u32, near), st.integers(-2**31, 2**31 - 1))
def test_helpers_equal_the_modular_definition(a, b, d):
    # absolute values anywhere, at the 2**30 small-int edge, at 2**31 and at 2**32
    for x, y in ((a, b), (a, seq.add(a, d)), (seq.add(b, d), b)):
        r = _ref_sub(x, y)
        assert seq.sub(x, y) == r
        assert (seq.lt(x, y), seq.le(x, y), seq.gt(x, y), seq.ge(x, y)) == \
            (r < 0, r <= 0, r > 0, r >= 0)
    assert seq.add(a, d) == (a + d) % 2**32


@given(st.integers(-2**29, 2**29), st.integers(-2**29, 2**29))
def test_helpers_on_offsets_are_plain_comparisons(a, b):
    # A connection's offsets (tcp/state.py) may be negative; within 2**30 of each other the
    # helpers answer as plain ints do, so the algorithms taking offsets agree with the TCB.
    assert seq.sub(a, b) == a - b
    assert (seq.lt(a, b), seq.le(a, b), seq.gt(a, b), seq.ge(a, b)) == \
        (a < b, a <= b, a > b, a >= b)


# -- the edge: 32-bit values as 16-bit halves, offsets from a base ------------------------

def _halves(v):
    return v >> 16, v & 0xFFFF


offsets = st.one_of(st.integers(-2**31, 2**31), st.integers(-70000, 70000),
                    st.sampled_from([2**28 - 1, 2**28, 2**29, 2**30 - 1, 2**30, -2**29]))


@given(st.one_of(u32, near), st.one_of(u32, near), offsets)
def test_rel_is_the_offset_of_the_value_nearest_ref(v, base, ref):
    x = seq.rel(*_halves(v), *_halves(base), ref)
    assert (base + x) % 2**32 == v
    assert ref - 2**31 <= x < ref + 2**31
    # so x compares with ref exactly as the modular helpers compare the 32-bit values
    assert x - ref == _ref_sub(v, (base + ref) % 2**32)


@given(st.one_of(u32, near), offsets)
def test_hi_lo_are_the_halves_of_base_plus_offset(base, off):
    bh, bl = _halves(base)
    h, lo = seq.hi(bh, bl, off), seq.lo(bl, off)
    assert 0 <= h <= 0xFFFF and 0 <= lo <= 0xFFFF
    assert seq.value(h, lo) == (base + off) % 2**32
    # and back: the value's offset taken near off is off itself
    assert seq.rel(h, lo, bh, bl, off) == off


def test_edge_cases_at_the_wrap_and_the_sign_boundary():
    top = _halves(2**32 - 1)
    assert seq.rel(0, 0, *top, 0) == 1                    # 0 is one past 2**32 - 1
    assert seq.rel(*top, 0, 0, 0) == -1                   # and 2**32 - 1 one before 0
    assert seq.rel(*_halves(2**31), 0, 0, 0) == -2**31    # exactly half way: behind
    assert seq.rel(*_halves(2**31 - 1), 0, 0, 0) == 2**31 - 1
    # a base moved up by 2**28 (a rebase) past 2**32: the same value, offset 2**28 smaller
    base = 2**32 - 1000
    moved_h, moved_l = seq.hi(*_halves(base), 2**28), seq.lo(base & 0xFFFF, 2**28)
    assert seq.value(moved_h, moved_l) == 2**28 - 1000
    v = _halves((base + 2**28 + 5) % 2**32)
    assert seq.rel(*v, *_halves(base), 2**28) == 2**28 + 5
    assert seq.rel(*v, moved_h, moved_l, 0) == 5
