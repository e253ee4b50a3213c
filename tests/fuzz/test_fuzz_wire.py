"""Fuzz every parser in barenet/wire/ called directly (parsers.py lists them): only `Malformed`
escapes, whatever the bytes; well-formed input parses to what the emitter was given and to
what scapy reads; TCP options with every corner case RFC 9293 3.1 asks a receiver to survive.

Example counts come from fuzzlib.EXAMPLES (10 000 each under HYPOTHESIS_PROFILE=ci).
"""

import struct

import pytest
from hypothesis import given, strategies as st

from barenet.wire import Malformed, tcp
from fuzzlib import FUZZ, Knobs, mutate
from parsers import DST, PARSERS, SRC, expected_options, options_bytes, tcp_options
from scapy.utils import checksum as scapy_checksum


def parse_or_malformed(p, data):
    """p's result for data, or None when it raised Malformed (with a reason: args[0])."""
    try:
        return p.parse(memoryview(data))
    except Malformed as e:
        assert e.args and isinstance(e.args[0], str), e.args
        return None


def splice(k, b):
    """mutate() plus what it lacks: bytes inserted or removed in the middle (lengths and
    offsets no longer match the content)."""
    b = bytearray(mutate(k, b))
    if k.rarely():
        i = k.below(len(b) + 1)
        if k.byte() & 1:
            b[i:i] = bytes(k.byte() for _ in range(1 + k.byte() % 8))
        else:
            del b[i:i + 1 + k.byte() % 8]
    return bytes(b)


@pytest.mark.parametrize("p", PARSERS, ids=repr)
def test_any_bytes_only_malformed_escapes(p):
    @FUZZ
    @given(st.binary(max_size=100))
    def run(data):
        parse_or_malformed(p, data)
    run()


@pytest.mark.parametrize("p", PARSERS, ids=repr)
def test_valid_input_round_trips_scapy_agrees_and_mutants_are_malformed(p):
    @FUZZ
    @given(p.valid, st.binary(min_size=8, max_size=40))
    def run(case, knob_bytes):
        fields, raw = case
        assert p.fields(p.parse(memoryview(raw))) == fields
        assert p.scapy_fields(raw) == fields
        k = Knobs(knob_bytes)
        for _ in range(3):
            raw = splice(k, raw)
            parse_or_malformed(p, raw)
    run()


def _segment(opts, doff):
    """A segment to 80 with the options area opts at data offset doff (words), checksum
    computed by scapy's checksum."""
    b = bytearray(struct.pack("!HHIIBBHHH", 40000, 80, 1, 2, doff << 4, tcp.ACK, 100, 0, 0))
    b += opts
    b += b"payload"
    s = scapy_checksum(SRC + DST + struct.pack("!BBH", 0, 6, len(b)) + bytes(b))
    b[16:18] = struct.pack("!H", s)
    return bytes(b)


@FUZZ
@given(st.binary(min_size=20, max_size=200))
def test_tcp_options_corner_cases(knob_bytes):
    k = Knobs(knob_bytes)
    items = tcp_options(k)
    # The data offset: just enough words for the options, fewer (the options run over the
    # header length, cut mid-option), or the most there is (15: 40 option bytes).
    opts = options_bytes(items)[:40]
    need = (len(opts) + 3) // 4
    fit = k.pick(["just", "short", "max"])
    doff = 5 + {"just": need, "short": k.below(need + 1), "max": 10}[fit]
    opts = (opts + bytes(40))[:(doff - 5) * 4]
    raw = _segment(opts, doff)
    want = expected_options(items, (doff - 5) * 4)
    try:
        s = tcp.parse(memoryview(raw), SRC, DST)
    except Malformed as e:
        assert want == "malformed" and e.args == ("options",), (e.args, want)
        return
    assert want != "malformed", (items, doff)
    ts = None if s.tsval is None else (s.tsval, s.tsecr)
    got = {"mss": s.mss, "wscale": s.wscale, "sack_perm": s.sack_perm, "ts": ts, "sack": s.sack}
    assert got == want, (items, doff)
    assert bytes(s.payload) == raw[doff * 4:] and s.hlen == doff * 4
