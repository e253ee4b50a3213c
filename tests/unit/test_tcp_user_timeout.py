"""TCP_USER_TIMEOUT (RFC 5482 semantics, Linux's option): sent data unacknowledged for the
user timeout aborts the connection with ETIMEDOUT, whatever the retry count says, and the
retransmission timer fires by that time at the latest; on both targets (tcp_script.py)."""

from barenet.compat import ETIMEDOUT
from tcp_script import script  # noqa: F401 (fixture)
from test_tcp_data import expect_error


def test_user_timeout_expiry(script):
    s = script(isn=2000, max_retries=15)
    c = s.established_passive()
    c.set_user_timeout(3000)
    c.send(b"u" * 100)
    s.expect("PA", seq=2001, data=b"u" * 100, within=(0, 0))
    sent = s.last
    # barenet: RTO 1 s, then 2 s (clamped to what is left of the 3 s); Linux from 200 ms
    rtx = s.take(1, until_ms=sent + 1300 + s.slack)
    assert rtx and all(bytes(f.payload.payload.payload) == b"u" * 100 for _, f in rtx), rtx
    s.last = sent
    # Linux checks at its (clamped) RTO and in jiffies: a little after the 3 s
    expect_error(s, c, ETIMEDOUT, within=(3000, 3600 if s.linux else 3000))
    if not s.linux:
        assert s.stack.tcp.stats["user_timeout"] == 1
        assert s.stack.tcp.stats["rto"] == 2


def test_without_it_the_retry_count_rules():
    from tcp_script import Script
    s = Script(isn=2000, max_retries=2)
    c = s.established_passive()
    c.set_user_timeout(0)
    c.send(b"v" * 10)
    s.wait(1000 + 2000 + 4000 + 10)
    assert c.info()["state"] == "CLOSED" and s.stack.tcp.stats.get("user_timeout", 0) == 0
