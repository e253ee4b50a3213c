"""`barenet serve` as a process: attach or create a TAP, stop cleanly on signals, one-line errors."""

import signal

import pytest

pytestmark = pytest.mark.root


def test_attach_mode_and_sigterm_exit(serve, kernel):
    s = serve("--udp-echo", "7")
    assert s.banner.startswith("barenet: serving 192.0.2.2/24 on existing TAP " + s.tap)
    assert "mac 02:00:c0:00:02:02" in s.banner and "udp echo on 7" in s.banner
    assert kernel.ping("-c", 2, "-i", 0.2, "-W", 2).returncode == 0
    rc, out, err = s.stop(signal.SIGTERM)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("barenet: stopped: tap rx "), out
    assert "tx_echo_reply=2" in lines[0]
    # Attached, not created: the persistent TAP outlives barenet, ready for the next run.
    assert kernel.ns.ip("link", "show", "dev", s.tap).returncode == 0


def test_sigint_exit(serve):
    s = serve()
    rc, out, err = s.stop(signal.SIGINT)
    assert (rc, err) == (0, "")
    assert out.startswith("barenet: stopped: ")


def test_creates_tap_when_missing_and_removes_it(serve, kernel):
    s = serve(make_tap=False)
    assert " on new TAP " + s.tap in s.banner
    assert s.tap in kernel.ns.ip("-br", "link", "show").stdout
    assert s.stop()[0] == 0
    assert s.tap not in kernel.ns.ip("-br", "link", "show").stdout


def test_busy_tap_is_one_line_error(serve, kernel):
    s = serve()
    r = kernel.ns.run(s.proc.args[4:])  # the same command line: the TAP is taken
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "barenet: error: cannot open TAP %r: device busy (another process has " \
                       "it open)\n" % s.tap


def test_tap_deleted_while_serving_is_one_line_error(serve, kernel):
    s = serve()
    kernel.ns.ip("link", "del", "dev", s.tap)
    out, err = s.proc.communicate(timeout=10)
    assert s.proc.returncode == 1
    assert err == "barenet: error: TAP %r is gone (deleted while open)\n" % s.tap


def test_small_mtu_fragments_to_fit(serve, kernel):
    # Both sides at 576: a 1000-byte echo needs two fragments each way (RFC 791 2.3).
    s = serve("--mtu", "576")
    kernel.ns.mtu(s.tap, 576)
    before = kernel.ip_counters()
    r = kernel.ping("-c", 2, "-i", 0.2, "-W", 2, "-s", 1000)
    assert r.returncode == 0, r.stdout + r.stderr
    after = kernel.ip_counters()
    assert after["FragCreates"] - before["FragCreates"] >= 2 * 2
    assert after["ReasmOKs"] - before["ReasmOKs"] == 2


def test_gateway_carries_replies_to_off_link_sources(serve, kernel):
    # The kernel pings from 198.51.100.1 (on its loopback): barenet reaches that source only
    # through its gateway, the kernel's 192.0.2.1.
    kernel.ns.addr("lo", "198.51.100.1/24")
    off_link = ("-c", 1, "-W", 2, "-I", "198.51.100.1")
    without = serve()
    assert kernel.ping(*off_link).returncode == 1  # no route back: no reply
    without.stop()
    serve("--gateway", "192.0.2.1", tap=without.tap, make_tap=False)
    r = kernel.ping(*off_link)
    assert r.returncode == 0, r.stdout + r.stderr
