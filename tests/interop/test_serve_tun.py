"""`barenet serve --tun`: barenet on a Linux TUN (bare IPv4, no ARP) against the kernel in a
namespace: ping, the status page over curl, a 1 MB echo byte-exact; and the TUN's one-line
errors (busy, not a TUN)."""

import signal

import pytest

pytestmark = pytest.mark.root

MB = 1 << 20


def test_ping_status_page_and_a_1mb_echo(serve, kernel):
    s = serve("--apps", "echo,http", mode="tun")
    assert s.banner.startswith("barenet: serving 192.0.2.2/24 on existing TUN %s, mtu 1500, "
                               "tcp echo:7 http:80, control " % s.tap), s.banner
    assert "mac" not in s.banner                  # an ip link has none (nic.py)
    r = kernel.ping("-c", 3, "-i", 0.2, "-W", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    page = kernel.ns.run(["curl", "-sS", "-m", "10", "http://192.0.2.2/"])
    assert page.returncode == 0, page.stderr
    assert "<h1>barenet status</h1>" in page.stdout and "ip0 192.0.2.2/24" in page.stdout
    echo = kernel.echo(MB)
    assert echo["ok"] and echo["got"] == MB, echo
    rc, out, err = s.stop(signal.SIGTERM)
    assert (rc, err) == (0, "")
    assert out.startswith("barenet: stopped: tun rx "), out
    assert "tx_echo_reply=3" in out
    assert "arp" not in out                       # no ARP on a TUN


def test_creates_a_tun_when_missing_and_removes_it(serve, kernel):
    s = serve(make_tap=False, mode="tun")
    assert " on new TUN " + s.tap in s.banner
    link = kernel.ns.ip("-d", "link", "show", "dev", s.tap).stdout
    assert "tun type tun" in link, link
    assert s.stop()[0] == 0
    assert s.tap not in kernel.ns.ip("-br", "link", "show").stdout


def test_busy_tun_is_one_line_error(serve, kernel):
    s = serve(mode="tun")
    r = kernel.ns.run(s.proc.args[4:])            # the same command line: the TUN is taken
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "barenet: error: cannot open TUN %r: device busy (another process has " \
                       "it open)\n" % s.tap


def test_a_tap_is_not_a_tun(serve, kernel):
    s = serve()                                   # a TAP, served
    s.stop()
    argv = s.proc.args[4:]
    argv[argv.index("--tap")] = "--tun"
    r = kernel.ns.run(argv)
    assert r.returncode == 2
    assert r.stderr == "barenet: error: cannot open TUN %r: the existing device is not a TUN " \
                       "without packet information (a TAP, or made with `pi`?)\n" % s.tap


def test_tun_deleted_while_serving_is_one_line_runtime_error(serve, kernel):
    s = serve(mode="tun")
    kernel.ns.ip("link", "del", "dev", s.tap)
    out, err = s.proc.communicate(timeout=10)
    assert s.proc.returncode == 1
    assert err == "barenet: error: TUN %r is gone (deleted while open)\n" % s.tap
