"""`barenet client --via serial:/dev/pts/N`: the acceptance's "client without root". A
`barenet serve --dev pty` plays the board (SLIP over a pty, no network at all); the client, as
the user nobody when the test runs as root, runs its own barenet stack on the pty's other end
and pings, gets, echoes, sends, benches, asks for stats and discovers the board, with no root
and no bridge. Every output is checked, and the ctl tables of that serve (an `ip` link)."""

import hashlib
import json
import os
import signal
import subprocess
import sys

import pytest

from unprivileged import barenet_as_nobody

BOARD = "192.0.2.2"
APPS = "echo,discard,chargen,http,discovery"
TIMEOUT = 60


def _barenet():
    script = os.path.join(os.path.dirname(sys.executable), "barenet")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "barenet_host.cli"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A `barenet serve --dev pty` with every app: (its pty path, its control socket)."""
    ctl = str(tmp_path_factory.mktemp("via") / "ctl.sock")
    proc = subprocess.Popen(_barenet() + ["serve", "--dev", "pty", "--ip", BOARD + "/24",
                                          "--apps", APPS, "--ctl", ctl],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("barenet: serving %s/24 on pty at /dev/pts/" % BOARD), banner
        path = banner.split(" on pty at ")[1].split(",")[0]
        if os.geteuid() == 0:
            os.chmod(path, 0o666)   # our own pty: nobody may open it, as a dialout user would
        yield path, ctl
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def via(board):
    """via(*args, input=None) -> CompletedProcess of `barenet client --via serial:PTY ARGS`
    as nobody (or this user, when not root)."""
    with barenet_as_nobody() as (argv, cwd):
        def run(*args, input=None):
            return subprocess.run(argv + ["client", "--via", "serial:" + board[0]] +
                                  [str(a) for a in args], cwd=cwd, input=input,
                                  capture_output=True, text=True, timeout=TIMEOUT)
        run.cwd = cwd
        run.argv = argv
        run.pty = board[0]
        yield run


def test_ping_and_discover_through_the_clients_own_stack(via):
    r = via("ping", "-c", "2", "-i", "0.2", BOARD)
    assert r.returncode == 0, r.stderr
    assert "2 packets transmitted, 2 received, 0% packet loss" in r.stdout
    assert r.stdout.splitlines()[1].startswith("64 bytes from %s: icmp_seq=1 time=" % BOARD)
    d = via("discover", "--json")
    assert d.returncode == 0, d.stderr
    (dev,) = json.loads(d.stdout)
    assert (dev["ip"], dev["mac"], dev["board"], dev["from"]) == (BOARD + "/24", None, "host",
                                                                  BOARD)


def test_get_echo_send_bench_stats(via):
    page = via("get", BOARD + "/")
    assert page.returncode == 0 and "<h1>barenet status</h1>" in page.stdout, page.stderr
    text = "over a serial line\n" * 200
    e = via("echo", BOARD, input=text)
    assert (e.returncode, e.stdout) == (0, text), e.stderr
    data = os.urandom(200000)
    f = os.path.join(via.cwd, "blob%d" % os.getpid())
    with open(f, "wb") as w:
        w.write(data)
    os.chmod(f, 0o644)
    s = via("send", f, BOARD)
    assert s.returncode == 0, s.stderr
    assert s.stdout.rstrip().endswith("sha256 %s matches" % hashlib.sha256(data).hexdigest())
    b = via("bench", BOARD, "--bytes", 300000, "--json")
    assert b.returncode == 0, b.stderr
    fig = json.loads(b.stdout)
    assert fig["upload"]["bytes"] == fig["download"]["bytes"] == 300000
    assert fig["upload"]["mb_s"] > 0 and fig["download"]["mb_s"] > 0
    st = via("stats", BOARD, "--json")
    assert st.returncode == 0, st.stderr
    stats = json.loads(st.stdout)["stats"]
    assert stats["app_discard9"]["accepted"] >= 1 and stats["app_chargen19"]["accepted"] >= 1
    assert json.loads(st.stdout)["interfaces"][0]["mtu"] == 1006     # SLIP's default


def test_errors_over_the_link_are_one_line(via):
    r = via("ping", "-c", "1", "--timeout", "0.5", "192.0.2.99")
    assert r.returncode == 1 and r.stderr == "barenet: error: no reply from 192.0.2.99\n"
    r = via("get", BOARD + ":81/", "--timeout", "2")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "barenet: error: cannot connect to %s:81: Connection refused\n" % BOARD


def test_a_link_that_cannot_be_opened_is_one_line(via):
    with barenet_as_nobody() as (argv, cwd):
        r = subprocess.run(argv + ["client", "--via", "serial:/dev/nonexistent-bn", "ping",
                                   BOARD], cwd=cwd, capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("barenet: error: cannot open serial:/dev/nonexistent-bn: ")
    assert r.stderr.count("\n") == 1


def test_a_link_no_board_comes_to_is_one_line(via):
    # unix:PATH listens for the board (devices/unix.py); none connects within the timeout
    with barenet_as_nobody() as (argv, cwd):
        d = os.path.join(cwd, "socks")
        os.mkdir(d)
        os.chmod(d, 0o777)           # nobody makes its socket there
        path = os.path.join(d, "board.sock")
        r = subprocess.run(argv + ["client", "--via", "unix:" + path, "--timeout", "0.5",
                                   "ping", BOARD], cwd=cwd, capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "barenet: error: unix:%s: the link is down (no board connected) after " \
        "0.5 s\n" % path


def test_ctl_tables_of_a_serve_on_an_ip_link(board, via):
    assert via("ping", "-c", "1", BOARD).returncode == 0
    replies = {}
    for what in ("ifaces", "arp", "routes", "conns", "stats"):
        r = subprocess.run(_barenet() + ["ctl", what, "--socket", board[1], "--json"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        replies[what] = json.loads(r.stdout)
    (i,) = replies["ifaces"]["ifaces"]
    assert (i["link"], i["mac"], i["ip"], i["mtu"]) == ("ip", None, BOARD + "/24", 1006)
    assert replies["arp"] == {"arp": []}          # a SLIP link resolves nothing
    assert {"dest": "192.0.2.0/24", "gateway": None, "iface": i["name"], "src": BOARD} in \
        replies["routes"]["routes"]
    assert replies["conns"]["conns"] == [] or all(
        c["local"].startswith(BOARD + ":") for c in replies["conns"]["conns"])
    assert replies["stats"]["stats"]["icmp"]["tx_echo_reply"] >= 1
    t = subprocess.run(_barenet() + ["ctl", "arp", "--socket", board[1]], capture_output=True,
                       text=True, timeout=20)
    assert (t.returncode, t.stdout) == (0, "ARP cache: none\n")


class Terminal:
    """`barenet client --via ... ARGS` with stdin, stdout and stderr on a new pty, as a user's
    terminal: canonical input (a line at a time, Ctrl-D ends it) without echo, so what comes
    out is only what the client prints."""

    def __init__(self, via, args):
        import pty
        import termios
        self.master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        if os.geteuid() == 0:
            os.fchmod(slave, 0o666)
        env = dict(os.environ, COLUMNS="100", TERM="xterm")
        argv = via.argv + ["client", "--via", "serial:" + via.pty] + [str(a) for a in args]
        self.proc = subprocess.Popen(argv, cwd=via.cwd, stdin=slave, stdout=slave,
                                     stderr=slave, env=env)
        os.close(slave)
        self.out = ""

    def type(self, data):
        os.write(self.master, data)

    def read_until(self, text=None, timeout=TIMEOUT):
        """Read what it prints until text appears (None: until it exits); -> all so far."""
        import select
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end and (text is None or text not in self.out):
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    d = os.read(self.master, 65536)
                except OSError:           # EIO: the client closed the terminal
                    break
                if not d:
                    break
                self.out += d.decode("utf-8", "replace")
            elif self.proc.poll() is not None:
                break
        return self.out

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait(timeout=10)
        os.close(self.master)
        return rc


def test_on_a_terminal_bench_draws_a_progress_bar_and_discover_a_table(via):
    t = Terminal(via, ["bench", BOARD, "--bytes", 2000000])
    try:
        out = t.read_until()
    finally:
        rc = t.close()
    assert rc == 0, out
    assert "\u2501" in out and "2.0/2.0 MB" in out        # rich's bar, not plain lines
    assert "of 2000000 bytes" not in out
    assert "to %s (discard)" % BOARD in out and "MB/s" in out
    t = Terminal(via, ["discover"])
    try:
        out = t.read_until()
    finally:
        rc = t.close()
    assert rc == 0, out
    assert "\u2500" in out and BOARD + "/24" in out and "devices:" not in out   # rules


def test_echo_is_interactive_on_a_terminal(via):
    t = Terminal(via, ["echo", BOARD])
    try:
        t.type(b"first line\n")
        assert "first line" in t.read_until("first line", timeout=10)   # before input ends
        t.type(b"second\n")
        assert "second" in t.read_until("second", timeout=10)
        t.type(b"\x04")                     # Ctrl-D: end of input
        t.read_until()
    finally:
        rc = t.close()
    assert rc == 0, t.out
