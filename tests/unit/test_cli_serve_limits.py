"""`barenet serve --tcp-buffer BYTES` and `--max-conns N`: the host profile and its limits,
checked without a TAP device."""

import io

import pytest

from barenet.config import Config
from barenet_host import cli

GOOD = ["serve", "--tap", "bnx", "--ip", "192.0.2.2/24"]


class FakeTap:
    name = "bnx"
    created = False
    link = "ethernet"

    def __init__(self, spec, create=True, offload=False):
        self.stats = {"rx": 0, "tx": 0, "drop_tx": 0}

    def send(self, frame):
        pass

    def close(self):
        pass


@pytest.fixture
def served(monkeypatch, tmp_path):
    """Run `serve` with a fake TAP and a runner that returns at once; yields the stacks made.
    The control socket goes to tmp_path, not to the TAP name's default (which parallel runs
    of this test would share)."""
    stacks = []

    class Runner:
        def __init__(self, stack, *a, **kw):
            stacks.append(stack)

        def add_task(self, fn):
            pass

        def add_fd(self, fd, fn):
            pass

        def remove_fd(self, fd):
            pass

        def run(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(cli, "open_device", FakeTap)
    monkeypatch.setattr(cli, "Runner", Runner)
    monkeypatch.setattr(cli.control, "default_path", lambda tap: str(tmp_path / (tap + ".sock")))
    return stacks


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    return cli.main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def test_default_is_host_sized_with_window_scaling(served):
    rc, out, err = run_main(GOOD + ["--apps", "discard"])
    assert (rc, err) == (0, "")
    cfg = served[0].cfg
    assert cfg.profile == "host"
    assert cfg.sndbuf == cfg.rcvbuf == cli.TCP_BUFFER == 262144
    assert cfg.wscale   # a 256 KB window needs RFC 7323 scaling


def test_explicit_size(served):
    assert run_main(GOOD + ["--tcp-buffer", "16384"])[0] == 0
    assert served[0].cfg.sndbuf == served[0].cfg.rcvbuf == 16384


@pytest.mark.parametrize("value", ["2047", "16777217", "64k", "-1"])
def test_out_of_range_is_a_usage_error(served, value):
    rc, out, err = run_main(GOOD + ["--tcp-buffer", value])
    assert rc == 2 and out == "" and not served
    assert err == "barenet: error: argument --tcp-buffer: TCP buffer must be an integer " \
                  "2048..16777216, not %r\n" % value


def test_the_host_profile_holds_thousands_of_connections_by_default(served):
    assert run_main(GOOD + ["--apps", "echo"])[0] == 0
    cfg = served[0].cfg
    assert cfg.max_connections == cli.MAX_CONNS >= 1000
    assert cfg.syn_backlog >= 1000 and cfg.listen_backlog >= 1000


def test_max_conns(served):
    assert run_main(GOOD + ["--max-conns", "50"])[0] == 0
    assert served[0].cfg.max_connections == 50


@pytest.mark.parametrize("value", ["0", "x", "1048577"])
def test_max_conns_out_of_range_is_a_usage_error(served, value):
    rc, out, err = run_main(GOOD + ["--max-conns", value])
    assert rc == 2 and out == "" and not served
    assert err == "barenet: error: argument --max-conns: max-conns must be an integer " \
                  "1..1048576, not %r\n" % value


def test_the_apps_take_the_host_profile_limits_by_default(served):
    assert run_main(GOOD + ["--apps", "echo,http"])[0] == 0
    cfg = served[0].cfg
    host = Config("host")
    assert cli.APP_TUNABLES == ["app_max_conns", "app_max_per_peer", "app_idle_ms",
                                "http_idle_ms"]
    for name in cli.APP_TUNABLES:
        assert getattr(cfg, name) == getattr(host, name)
    assert cfg.app_max_per_peer < cfg.app_max_conns <= cfg.max_connections


def test_app_limits_and_idle_timeouts(served, monkeypatch):
    made = []
    real = cli.APPS["echo"][0]

    def echo(stack, port):
        made.append(real(stack, port))
        return made[-1]
    monkeypatch.setitem(cli.APPS, "echo", (echo, 7))
    assert run_main(GOOD + ["--apps", "echo", "--app-max-conns", "100", "--app-max-per-peer",
                            "10", "--app-idle-ms", "0", "--http-idle-ms", "2000"])[0] == 0
    cfg = served[0].cfg
    assert (cfg.app_max_conns, cfg.app_max_per_peer, cfg.app_idle_ms, cfg.http_idle_ms) == (
        100, 10, 0, 2000)
    (app,) = made
    assert (app.max_conns, app.max_per_peer, app.idle_ms) == (100, 10, 0)  # 0: no idle timeout


@pytest.mark.parametrize("flag,value,text", [
    ("--app-max-conns", "0", "app-max-conns must be an integer 1..1048576"),
    ("--app-max-per-peer", "many", "app-max-per-peer must be an integer 1..1048576"),
    ("--app-idle-ms", "-5", "app-idle-ms must be an integer 0..86400000"),
    ("--http-idle-ms", "0", "http-idle-ms must be an integer 1..86400000"),
])
def test_bad_app_limits_are_one_line_usage_errors(served, flag, value, text):
    rc, out, err = run_main(GOOD + [flag, value])
    assert rc == 2 and out == "" and not served
    assert err == "barenet: error: argument %s: %s, not %r\n" % (flag, text, value)
