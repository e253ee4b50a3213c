"""Fuzz stack.input(): no exception may escape it or be swallowed as an internal error
(`stack.stats["stack"]["drop_internal_error"]`), whatever arrives and in whatever order; the
stack's bounded structures stay within their limits and everything it sends is well formed.

Example counts come from fuzzlib.EXAMPLES (10 000 each under HYPOTHESIS_PROFILE=ci).
"""

from hypothesis import given, strategies as st

from barenet.addr import ip_ntoa
from barenet.reasm import DATAGRAM_COST, FRAG_COST
from fuzzlib import (BCAST_MAC, FUZZ, LIMITS, OUR_MAC, Knobs, Target, fragment_frame, fragment_scenario,
                     fragmentable, fragments, structured_frame, time_steps)

ETYPES = st.sampled_from([b"\x08\x00", b"\x08\x06"]) | st.binary(min_size=2, max_size=2)


@FUZZ
@given(st.lists(st.binary(max_size=120) |
                st.tuples(st.sampled_from([OUR_MAC, BCAST_MAC]), ETYPES, st.binary(max_size=200))
                .map(lambda t: t[0] + b"\x02\x00\x00\x00\x00\x01" + t[1] + t[2]),
                min_size=1, max_size=4))
def test_random_frames(frames):
    t = Target()
    for f in frames:
        t.feed(f)


@FUZZ
@given(st.lists(st.tuples(st.just("frame"), structured_frame) |
                st.tuples(st.just("time"), time_steps), min_size=1, max_size=6))
def test_structured_mutated_frames(events):
    t = Target()
    t.run(events)
    t.advance(70000)  # every timer fires: ARP failure, reassembly timeout


@FUZZ
@given(st.lists(st.tuples(st.just("frame"), structured_frame) |
                st.tuples(st.just("time"), time_steps), min_size=1, max_size=6))
def test_structured_mutated_datagrams_on_an_ip_link(events):
    # The same frames without their Ethernet header, to a TUN/SLIP-style interface
    t = Target(link="ip")
    t.run(events)
    t.advance(70000)


@FUZZ
@given(fragment_scenario)
def test_fragments(events):
    t = Target()
    t.run(events)
    t.advance(70000)
    assert t.stack.ip.reasm.bytes == 0 and not t.stack.ip.reasm.pending


@FUZZ
@given(st.binary(min_size=60, max_size=200), st.binary(max_size=64))
def test_fragments_in_any_order_reassemble_exactly_once(knob_bytes, pool):
    k = Knobs(knob_bytes, pool)
    # What fits in the reassembly budget with its overhead, in at most 7 fragments (see
    # fragments()), fragment zero's saved header and a transport header of 8 bytes.
    proto, b, src = fragmentable(k, LIMITS["reasm_bytes"] - DATAGRAM_COST - 7 * FRAG_COST - 36)
    frags = fragments(k, b)
    order = k.shuffle(frags)
    # Fewer duplicates than fragments: they can never add up to a second whole datagram.
    for _ in range(k.byte() % len(frags)):
        order.insert(k.below(len(order) + 1), k.pick(frags))
    t = Target()
    for off, chunk, mf in order:
        t.feed(fragment_frame(src, proto, 7, off, chunk, mf))
    st_ = t.stack.stats
    assert st_["ip"].get("reasm_ok", 0) == 1, (st_["ip"], [(o, len(c), m) for o, c, m in order])
    if proto == 17:
        assert t.received == [(b[8:], (ip_ntoa(src), 5000))]
    elif proto == 1:
        assert st_["icmp"].get("tx_echo_reply", 0) == 1
    else:
        assert st_["icmp"].get("tx_error", 0) == 1

