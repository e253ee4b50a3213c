"""One ICMP-to-errno table for every transport, and it is Linux's (net/ipv4/icmp.c
icmp_err_convert[] for destination unreachable; tcp_v4_err and __udp4_lib_err for the rest).
The same errors reach a UDP endpoint and a TCP connection alike."""

import errno

import pytest

from barenet import icmp
from barenet.wire import icmp as w
from tcp_script import Script

# icmp_err_convert[], code by code (Linux's errno numbers, from the errno module here)
LINUX_UNREACH = [errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENOPROTOOPT, errno.ECONNREFUSED,
                 errno.EMSGSIZE, errno.EOPNOTSUPP, errno.ENETUNREACH, errno.EHOSTDOWN,
                 errno.ENONET, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETUNREACH,
                 errno.EHOSTUNREACH, errno.EHOSTUNREACH, errno.EHOSTUNREACH, errno.EHOSTUNREACH]


def test_destination_unreachable_codes_map_as_linux_does():
    assert [icmp.error_errno(w.DEST_UNREACH, code) for code in range(16)] == LINUX_UNREACH
    assert icmp.error_errno(w.DEST_UNREACH, 200) == errno.EHOSTUNREACH


def test_other_types():
    assert icmp.error_errno(w.TIME_EXCEEDED, 0) == errno.EHOSTUNREACH
    assert icmp.error_errno(w.PARAM_PROBLEM, 0) == errno.EPROTO
    assert icmp.error_errno(w.SOURCE_QUENCH, 0) == 0    # RFC 6633: ignored
    assert icmp.error_errno(w.REDIRECT, 1) == 0


@pytest.mark.parametrize("code", [5, 6, 7, 9, 11])
def test_tcp_reports_the_same_errno_as_udp(code):
    # A soft error in a synchronized state (RFC 1122 4.2.3.9): what the connection reports
    # when it later times out. Codes 5, 6, 9 and 11 are where two tables used to disagree.
    s = Script(isn=2000, max_retries=1, rto_min_ms=200)
    c = s.established_passive()
    c.send(b"data")
    seg = s.take(1, until_ms=s.now + 100)[0][1]
    s.inject_icmp(3, code, seg)
    s.wait(5000)
    assert c.info()["state"] == "CLOSED"
    assert c.info()["error"] == LINUX_UNREACH[code]
