"""`barenet ctl`: its arguments, the control socket's protocol and bounds (host side, no root:
a socket in a temporary directory, the server's callbacks driven by hand or by a real Runner
on a stack without interfaces)."""

import io
import json
import os
import select
import socket
import subprocess
import sys
import threading

import pytest

from barenet.stack import Stack
from barenet_host import cli, ctl
from barenet_host.devices import spec as devspec
from barenet_host.runner import Runner


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["ctl"], "the following arguments are required: COMMAND"),
    (["ctl", "stats"], "one of the arguments --tap --tun --dev --socket/--ctl is required"),
    (["ctl", "reboot", "--tap", "bn0"], "argument COMMAND: invalid choice: 'reboot'"),
    (["ctl", "stats", "--tap", "bn0", "--ctl", "/x"],
     "argument --socket/--ctl: not allowed with argument --tap"),
    (["ctl", "arp", "--tap", "bn0", "--socket", "/x"],
     "argument --socket/--ctl: not allowed with argument --tap"),
    (["ctl", "stats", "--tap", "../etc"], "argument --tap: invalid TAP name '../etc'"),
    (["ctl", "stats", "--tap", "a" * 16], "must be 1..15 bytes"),
])
def test_bad_ctl_arguments_are_one_line_and_exit_2(argv, message):
    rc, out, err = run_main(argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("barenet: error: ") and message in err, err


def test_no_serve_running_is_one_line_and_exit_1(tmp_path):
    path = str(tmp_path / "none.sock")
    rc, out, err = run_main(["ctl", "stats", "--ctl", path])
    assert (rc, out) == (1, "")
    assert err == "barenet: error: no barenet serve answers on %s\n" % path


def test_default_paths_follow_the_tap_and_the_user():
    assert ctl.default_path("bn0", euid=0, env={}) == "/run/barenet/bn0.sock"
    assert ctl.default_path("bn0", euid=1000, env={"XDG_RUNTIME_DIR": "/run/user/1000"}) == \
        "/run/user/1000/barenet/bn0.sock"
    assert ctl.default_path("bn0", euid=1000, env={}) == "/tmp/barenet-1000/bn0.sock"


@pytest.mark.parametrize("text, name", [
    ("tap:bn0", "bn0"),
    ("tun:bt0", "bt0"),
    ("serial:/dev/ttyACM0@921600,crc", "serial-dev-ttyACM0"),
    ("serial:socket://127.0.0.1:7000", "serial-socket---127.0.0.1-7000"),
    ("unix:/tmp/board.sock", "unix-tmp-board.sock"),
    ("udp:127.0.0.1:5555,ip", "udp-127.0.0.1-5555"),
    ("udp:5555", "udp-127.0.0.1-5555"),
    ("pty", "pty-4242"),
])
def test_the_socket_is_named_after_the_device(text, name):
    got = ctl.device_name(devspec.parse(text), pid=4242)
    assert got == name and "/" not in got


def test_ctl_finds_a_tun_serve_and_a_dev_serve_by_their_default_paths(monkeypatch, tmp_path):
    monkeypatch.setattr(ctl, "default_path", lambda name: str(tmp_path / (name + ".sock")))
    for argv, path in ((["--tun", "bt0"], "bt0"), (["--dev", "udp:5555"], "udp-127.0.0.1-5555")):
        rc, out, err = run_main(["ctl", "stats"] + argv)
        assert (rc, out) == (1, "")
        assert err.startswith("barenet: error: no barenet serve answers on %s/%s.sock (is "
                              "`barenet serve --dev " % (tmp_path, path)), err


def test_ctl_of_a_pty_serve_finds_the_one_running_by_the_pid_in_its_name(monkeypatch, tmp_path):
    monkeypatch.setattr(ctl, "default_path", lambda name: str(tmp_path / (name + ".sock")))
    rc, out, err = run_main(["ctl", "stats", "--dev", "pty"])
    assert (rc, out) == (1, "") and err.count("\n") == 1
    assert "no `barenet serve --dev pty` is running" in err
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):
        (tmp_path / ("pty-%d.sock" % pid)).write_text("")
    # the dead serve's socket is passed over; the live one is asked (and is no socket)
    rc, out, err = run_main(["ctl", "stats", "--dev", "pty"])
    assert rc == 1 and "pty-%d.sock" % os.getpid() in err and err.count("\n") == 1
    (tmp_path / ("pty-%d.sock" % os.getppid())).write_text("")
    rc, out, err = run_main(["ctl", "stats", "--dev", "pty"])
    assert rc == 2 and err.count("\n") == 1
    assert "2 pty serves are running (pids %s): give --ctl PATH" % ", ".join(
        str(p) for p in sorted((os.getpid(), os.getppid()))) in err


class FakeRunner:
    """Records what the server registers; tests call the callbacks themselves."""

    def __init__(self):
        self.fds = {}
        self.tasks = []

    def add_fd(self, fd, fn):
        self.fds[fd] = fn

    def remove_fd(self, fd):
        self.fds.pop(fd, None)

    def add_task(self, fn):
        self.tasks.append(fn)

    def ready(self, now=0):
        """Call every registered fd's callback once (as a select() that saw all readable)."""
        for fd, fn in list(self.fds.items()):
            if select.select([fd], [], [], 0)[0]:
                fn(now)


def server(tmp_path, commands=None):
    r = FakeRunner()
    path = str(tmp_path / "sub" / "t.sock")
    s = ctl.ControlServer(path, r, commands or {"stats": lambda: {"n": 1}})
    return r, s, path


def client(path, send=b""):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(2)
    c.connect(path)
    if send:
        c.sendall(send)
    return c


def read_all(c):
    out = b""
    while True:
        d = c.recv(65536)
        if not d:
            return out
        out += d


def test_a_request_line_gets_one_json_line_then_the_server_closes(tmp_path):
    r, s, path = server(tmp_path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    c = client(path, b"sta")
    r.ready()
    r.ready()
    c.sendall(b"ts\n")
    r.ready()
    assert read_all(c) == b'{"n": 1}\n'
    c.close()
    r.ready()
    assert s.clients == {}  # gone once the client closed
    c = client(path, b"nope\n")
    r.ready()
    r.ready()
    assert json.loads(read_all(c)) == {"error": "unknown command 'nope' (known: stats)"}
    c.close()
    assert s.stats == {"requests": 2, "refused_clients": 0, "accept_no_fds": 0,
                       "bad_requests": 1, "timeouts": 0, "errors": 0}
    s.close()
    assert not os.path.exists(path)


def test_a_request_longer_than_the_bound_is_refused(tmp_path):
    r, s, path = server(tmp_path)
    c = client(path, b"x" * (ctl.MAX_REQUEST + 50))
    for _ in range(4):
        r.ready()  # reads at most MAX_REQUEST + 1, then discards the rest
    assert json.loads(read_all(c)) == {"error": "request too long (at most %d bytes)"
                                      % ctl.MAX_REQUEST}
    s.close()


def test_clients_are_bounded_and_a_silent_one_times_out(tmp_path):
    r, s, path = server(tmp_path)
    held = []
    for _ in range(ctl.MAX_CLIENTS + 2):
        held.append(client(path))
        r.ready()
    assert len(s.clients) == ctl.MAX_CLIENTS and s.stats["refused_clients"] == 2
    assert s.poll(ctl.CLIENT_TIMEOUT_MS - 1) == 1
    s.poll(ctl.CLIENT_TIMEOUT_MS)
    assert s.clients == {} and s.stats["timeouts"] == ctl.MAX_CLIENTS
    assert all(read_all(c) == b"" for c in held)
    assert list(r.fds) == [s.sock.fileno()]  # only the listening socket is watched
    s.close()


def test_a_reply_bigger_than_the_socket_takes_is_sent_from_the_task(tmp_path):
    big = {"x": "y" * (4 << 20)}
    r, s, path = server(tmp_path, {"stats": lambda: big})
    c = client(path, b"stats\n")
    r.ready()
    r.ready()
    (st,) = s.clients.values()
    assert st.reply is not None and len(st.reply) > 0  # did not block the loop to send it all
    got = b""
    while len(st.reply):
        got += c.recv(1 << 20)
        assert s.poll(0) in (ctl.CLIENT_TIMEOUT_MS, 10)
    got += read_all(c)
    assert json.loads(got) == big
    c.close()
    r.ready()
    assert s.clients == {}
    s.close()


def test_a_stale_socket_is_replaced_and_a_live_one_is_not(tmp_path):
    path = str(tmp_path / "t.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays, nobody listens: a serve that was killed
    r, s, _ = server(tmp_path)
    r2 = FakeRunner()
    s2 = ctl.ControlServer(path, r2, {})
    with pytest.raises(ctl.InUse):
        ctl.ControlServer(path, FakeRunner(), {})
    s2.close()
    open(path, "w").close()
    with pytest.raises(ctl.InUse):
        ctl.ControlServer(path, FakeRunner(), {})
    s.close()


def test_ctl_stats_against_a_running_loop_prints_a_table_and_json(tmp_path):
    stack = Stack("host", reasm_bytes=123456)
    runner = Runner(stack)
    path = str(tmp_path / "s.sock")
    srv = ctl.ControlServer(path, runner, {"stats": lambda: {
        "serve": {"tap": "bn0"}, "stats": stack.stats, "limits": stack.limits()}})
    t = threading.Thread(target=runner.run, kwargs={"timeout_s": 20})
    t.start()
    try:
        rc, out, err = run_main(["ctl", "stats", "--ctl", path, "--json"])
        assert (rc, err) == (0, "")
        assert json.loads(out)["limits"]["reasm_bytes"] == {"limit": 123456, "used": 0}
        rc, out, err = run_main(["ctl", "stats", "--ctl", path])
        assert (rc, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == "barenet serve: tap bn0" and "counters" in lines
        assert [ln.split() for ln in lines if "reasm_bytes" in ln] == [
            ["reasm_bytes", "0", "123456", "0%"]]
    finally:
        runner.stop()
        t.join(10)
        srv.close()
        runner.close()


def test_a_server_that_cannot_register_leaves_no_socket_behind(tmp_path):
    class Broken(FakeRunner):
        def add_task(self, fn):
            raise RuntimeError("no tasks here")
    path = str(tmp_path / "b.sock")
    with pytest.raises(RuntimeError):
        ctl.ControlServer(path, Broken(), {})
    assert not os.path.exists(path)


def test_a_command_that_fails_is_reported_to_the_client_and_the_server_goes_on(tmp_path):
    r, s, path = server(tmp_path, {"stats": lambda: 1 // 0})
    c = client(path, b"stats\n")
    r.ready()
    r.ready()
    assert json.loads(read_all(c)) == {"error": "internal error: ZeroDivisionError: "
                                                "integer division or modulo by zero"}
    assert s.stats["errors"] == 1
    s.close()


# Runs in its own process, whose descriptors it uses up: a client waits in the listener's
# queue while accept() fails with EMFILE, then a descriptor is freed.
_NO_FDS = r"""
import json, os, select, socket, sys
sys.path.insert(0, sys.argv[2])
from barenet.stack import Stack
from fdlimit import use_up_descriptors
from barenet_host import ctl
from barenet_host.runner import Runner
runner = Runner(Stack("host"))
server = ctl.ControlServer(sys.argv[1], runner, {"ping": lambda: {"pong": 1}})
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
c.sendall(b"ping\n")
held = use_up_descriptors()
runner.run(timeout_s=1.0)
paused = server.stats["accept_no_fds"]
os.close(held.pop())
runner.run(until=lambda: select.select([c], [], [], 0)[0], timeout_s=5)
print(json.dumps({"paused": paused, "reply": c.recv(4096).decode()}))
"""


def test_a_listener_out_of_descriptors_backs_off_and_loses_no_client(tmp_path):
    """accept() failing with EMFILE leaves the client queued and the listener readable:
    watched on, the loop would spin at 100 % CPU. It is left alone 100 ms at a time
    (Runner.pause_fd), counted, and the client is served once a descriptor is free."""
    r = subprocess.run([sys.executable, "-c", _NO_FDS, str(tmp_path / "c.sock"),
                        os.path.dirname(__file__)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert 1 <= got["paused"] <= 15        # about one try per 100 ms over 1 s, not thousands
    assert json.loads(got["reply"]) == {"pong": 1}
