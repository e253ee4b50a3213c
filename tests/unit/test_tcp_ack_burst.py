"""ACKs for a burst of frames: what a runner hands the stack between two poll() calls.

RFC 5681 4.2 / RFC 9293 3.8.6.3 ask for an ACK for at least every second full-sized segment,
counted between ACK opportunities; poll() after the burst is that opportunity, so a burst of
in-order segments draws one ACK covering all of them (as Linux ACKs a GRO batch), sent at once,
not on the delayed-ACK timer. Out-of-order data is still acknowledged segment by segment
(RFC 5681 4.2: an immediate duplicate ACK each, which fast retransmit counts).
"""

from tcp_script import Script

MSS = 1460


def burst(s, segments):
    """The peer's frames all arrive before barenet's next poll() (one runner wakeup)."""
    for kw in segments:
        s.nic.send(bytes(s.segment("A", ack=2001, **kw)))
    s.settle()


def test_in_order_burst_draws_one_ack_for_all_at_once():
    s = Script(isn=2000, delack_ms=40, rcvbuf=16384)      # room for the burst
    c = s.established_passive()
    burst(s, [dict(seq=1001 + i * MSS, data=bytes([65 + i]) * MSS) for i in range(6)])
    s.expect("A", ack=1001 + 6 * MSS, at=0)
    s.wait(40)
    s.expect_nothing()                        # nothing left for the delayed-ACK timer
    assert c.recv(10 * MSS) == b"".join(bytes([65 + i]) * MSS for i in range(6))


def test_single_full_segment_in_a_burst_still_waits_for_the_timer():
    s = Script(isn=2000, delack_ms=40)
    s.established_passive()
    burst(s, [dict(seq=1001, data=b"a" * MSS)])
    s.expect_nothing()
    s.wait(40)
    s.expect("A", ack=1001 + MSS, at=40)


def test_input_alone_owes_the_ack_until_poll():
    # The contract a runner relies on: input() may leave the every-second-segment ACK to the
    # poll() that follows the burst, and that poll() sends it.
    s = Script(isn=2000, delack_ms=40)
    s.established_passive()
    stack, iface = s.stack, s.iface
    sent = []
    real = iface.nic
    iface.nic = type("Tap", (), {"send": lambda self, f: sent.append(bytes(f))})()
    for i in range(2):
        stack.input(iface, bytes(s.segment("A", seq=1001 + i * MSS, ack=2001, data=b"x" * MSS)),
                    stack.now)
    assert sent == []
    stack.poll(stack.now)
    assert len(sent) == 1
    iface.nic = real


def test_out_of_order_in_a_burst_is_acked_per_segment_with_sack():
    s = Script(isn=2000)
    s.established_passive(sack_perm=True)
    burst(s, [dict(seq=1001, data=b"a" * MSS),
              dict(seq=1001 + 2 * MSS, data=b"c" * MSS),
              dict(seq=1001 + 3 * MSS, data=b"d" * MSS)])
    acks = s.expect_many(2)
    assert [a.ack for a in acks] == [1001 + MSS] * 2       # two duplicate ACKs
    assert dict(acks[1].options)["SAck"] == (1001 + 2 * MSS, 1001 + 4 * MSS)


def test_reads_in_small_pieces_make_one_window_update_at_poll():
    # An app draining 4000 bytes 500 at a time opens the window past the update threshold
    # (RFC 1122 4.2.3.3) several times over; the peer hears it once, with the final window.
    s = Script(isn=2000, rcvbuf=4000, delack_ms=40)
    c = s.established_passive()
    burst(s, [dict(seq=1001, data=b"x" * MSS), dict(seq=1001 + MSS, data=b"y" * MSS),
              dict(seq=1001 + 2 * MSS, data=b"z" * (4000 - 2 * MSS))])
    s.wait(40)
    s.expect("A", ack=5001, win=0)
    for _ in range(8):
        assert len(c.recv(500)) == 500
    s.expect("A", ack=5001, win=4000, at=40)
    s.wait(40)
    s.expect_nothing()
