"""D-SACK (RFC 2883): a duplicate segment is reported in the first SACK block of the ACK it
draws, whole or in part, beside the usual blocks; on both targets (tcp_script.py)."""

from tcp_script import script  # noqa: F401 (fixture)
from test_tcp_data import leave_quickack


def test_dsack_sent_for_a_duplicate(script):
    s = script(isn=2000)
    c = s.established_passive(sack_perm=True)
    leave_quickack(s, c)
    s.inject("PA", seq=1001, ack=2001, data=b"a" * 100)
    s.wait(300)
    s.expect("A", ack=1101)
    s.inject("PA", seq=1001, ack=2001, data=b"a" * 100)        # again: RFC 2883 4.1.1
    s.expect("A", ack=1101, sack=[(1001, 1101)], within=(0, 0))
    assert c.recv(1000) == b"a" * 100
    if not s.linux:
        assert s.stack.tcp.stats["dsack_tx"] == 1


def test_dsack_for_a_partial_duplicate_comes_before_the_sack_blocks(script):
    # RFC 2883 4.2.1 (example 3 shape): the duplicated part first, then the out-of-order block
    s = script(isn=2000)
    c = s.established_passive(sack_perm=True)
    s.inject("PA", seq=1001, ack=2001, data=b"a" * 100)
    s.wait(300)
    s.take()
    s.inject("PA", seq=1301, ack=2001, data=b"d" * 100)        # a hole at 1101..1300
    s.expect("A", ack=1101, sack=[(1301, 1401)], within=(0, 0))
    s.inject("PA", seq=1051, ack=2001, data=b"a" * 50 + b"b" * 100)   # half old, half new
    s.expect("A", ack=1201, sack=[(1051, 1101), (1301, 1401)], within=(0, 0))
    assert c.recv(1000) == b"a" * 100 + b"b" * 100
