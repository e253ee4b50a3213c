"""Wrap-safe time: the helpers, and stack timers running across the 2**30 ms tick wrap."""

import pytest
from hypothesis import given, strategies as st
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.l2 import ARP, Ether

from barenet import ticks
from barenet.compat import EHOSTUNREACH
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup

P = ticks.PERIOD


def test_helpers_across_the_wrap():
    t = P - 10
    d = ticks.add(t, 25)
    assert d == 15
    assert ticks.diff(d, t) == 25 and ticks.diff(t, d) == -25
    assert not ticks.due(d, t) and ticks.due(d, ticks.add(t, 25)) and ticks.due(d, ticks.add(t, 26))
    assert ticks.until(d, t) == 25 and ticks.until(t, d) == 0
    assert ticks.earliest(None, 5) == 5 and ticks.earliest(3, None) == 3 and ticks.earliest(None, None) is None


@given(st.integers(0, P - 1), st.one_of(st.integers(-P, 2 * P), st.integers(-5000, 5000),
                                        st.sampled_from([P - 1, P, P // 2, -(P // 2)])))
def test_helpers_equal_the_masked_arithmetic(t, d):
    # add, diff and due stay below 2**30 on the way (a 32-bit port would allocate a heap int
    # for an intermediate that reaches it); their answers are the masked formulas'
    mask, half = P - 1, P // 2
    assert ticks.add(t, d) == (t + d) & mask
    u = (t + d) % P
    for a, b in ((t, u), (u, t), (t, d)):
        assert ticks.diff(a, b) == ((a - b + half) & mask) - half
        assert ticks.due(a, b) == (((b - a + half) & mask) - half >= 0)


@pytest.mark.parametrize("before", [1, 500, 999])
def test_arp_retries_and_failure_across_the_wrap(before):
    sim, stack, iface, peer = setup(start_ms=P - before, arp_retries=3, arp_retry_ms=1000)
    ep = stack.udp.bind(4000)
    ep.sendto(b"x", ("192.0.2.77", 9))
    sim.run(max_ms=10000)
    assert sim.now < 10000  # we did cross the wrap
    assert len([f for f in peer.take() if ARP in f]) == 3
    with pytest.raises(OSError) as e:
        ep.recvfrom()
    assert e.value.args[0] == EHOSTUNREACH


def test_reassembly_timeout_across_the_wrap():
    sim, stack, iface, peer = setup(start_ms=P - 10000, reasm_timeout_ms=30000)
    frags = fragment(IP(src=PEER_IP, dst=STACK_IP, id=5) / UDP(dport=9) / bytes(3000), fragsize=1000)
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / frags[0])
    sim.run(max_ms=1)
    sim.advance(29990)
    assert stack.ip.reasm.pending and sim.now < 30000
    sim.advance(20)
    assert not stack.ip.reasm.pending and stack.stats["ip"]["reasm_timeout"] == 1


def test_icmp_rate_limit_refills_across_the_wrap():
    sim, stack, iface, peer = setup(start_ms=P - 50, icmp_error_burst=2, icmp_error_interval_ms=100)
    stack.interfaces[0].arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex("020000000001"), sim.now)

    def burst(n):
        for i in range(n):
            peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=9, dport=1234))
        sim.run(max_ms=1)
        return len(peer.take())

    assert burst(5) == 2
    sim.advance(200)  # crosses the wrap
    assert burst(5) == 2


def test_oldest_is_the_stalest_entry_also_across_the_wrap():
    t = {"a": [0, ticks.PERIOD - 5], "b": [0, 3], "c": [0, ticks.PERIOD - 10]}
    assert ticks.oldest(t, 1) == "c"
    del t["c"]
    assert ticks.oldest(t, 1) == "a"
    assert ticks.oldest({}, 1) is None
