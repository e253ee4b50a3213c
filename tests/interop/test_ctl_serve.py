"""`barenet ctl stats` against a running `barenet serve` (root: a TAP in a namespace): the
counters and limits come back over the control socket, readable and as JSON, and the socket
is gone when serve stops."""

import json
import os
import subprocess

import pytest

from barenet_host.ctl import default_path
from barenet_host.netns import unique_name
from conftest import _barenet_cmd

pytestmark = pytest.mark.root


def ctl(*args):
    return subprocess.run(_barenet_cmd() + ["ctl"] + list(args), capture_output=True, text=True,
                          timeout=20)


def test_ctl_stats_reads_counters_and_limits_from_a_running_serve(serve, kernel):
    s = serve("--apps", "echo,http", "--udp-echo", "7")
    path = default_path(s.tap)
    assert "control " + path in s.banner and os.path.exists(path)
    assert kernel.ping("-c", "2", "-W", "2").returncode == 0
    r = ctl("stats", "--tap", s.tap, "--json")
    assert r.returncode == 0, r.stderr
    reply = json.loads(r.stdout)
    assert reply["serve"]["tap"] == s.tap and reply["serve"]["pid"] == s.proc.pid
    assert reply["stats"]["icmp"]["tx_echo_reply"] >= 2 and reply["stats"]["tap"]["rx"] >= 2
    lim = reply["limits"]
    assert lim["tcp_connections"]["limit"] == 4096 and lim["reasm_bytes"]["limit"] == 4 << 20
    assert "tcp_accept_queue:80" in lim and "udp_queue:7" in lim
    assert lim["arp_cache:eth0"]["used"] >= 1
    text = ctl("stats", "--ctl", path)
    assert text.returncode == 0, text.stderr
    assert "icmp.tx_echo_reply" in text.stdout and "reasm_bytes" in text.stdout
    assert text.stdout.splitlines()[0].startswith("barenet serve: ")
    rc, out, err = s.stop()
    assert rc == 0 and not os.path.exists(path)
    gone = ctl("stats", "--tap", s.tap)
    assert gone.returncode == 1 and gone.stdout == ""
    assert gone.stderr.count("\n") == 1 and "no barenet serve answers on " + path in gone.stderr


def test_a_second_serve_on_the_same_control_socket_is_refused(serve, netns, tmp_path):
    path = str(tmp_path / "ctl.sock")
    serve("--ctl", path)
    tap2 = unique_name("c")
    netns.tuntap_add(tap2)
    r = netns.run(_barenet_cmd() + ["serve", "--tap", tap2, "--ip", "198.51.100.2/24", "--ctl",
                                    path], timeout=20)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "control socket %s: %s is in use by another barenet serve" % (path, path) in r.stderr
    assert ctl("stats", "--ctl", path).returncode == 0  # the first one still answers


def test_ctl_finds_a_tun_serve_and_reads_its_link_options_counters(serve, kernel, tmp_path):
    s = serve("--faults", "dup=1", "--pcap", str(tmp_path / "t.pcap"), mode="tun")
    assert kernel.ping("-c", "2", "-i", "0.2", "-W", "2").returncode == 0
    r = ctl("stats", "--tun", s.tap, "--json")
    assert r.returncode == 0, r.stderr
    reply = json.loads(r.stdout)
    assert reply["serve"] == {"device": "tun:" + s.tap, "ip": "192.0.2.2/24", "pid": s.proc.pid}
    stats = reply["stats"]
    # dup=1: every ping reached barenet twice and every reply left twice
    assert stats["faults_in"]["duplicated"] == stats["faults_in"]["sent"] == stats["tun"]["rx"]
    assert stats["icmp"]["tx_echo_reply"] == 4 and stats["tun"]["tx"] == 8
    assert stats["pcap"]["frames"] == 2 * stats["tun"]["rx"] + stats["faults_out"]["sent"]
    assert ctl("stats", "--dev", "tun:" + s.tap, "--json").returncode == 0


def test_ctl_into_a_pipe_the_reader_closed_is_quiet(serve):
    """`barenet ctl stats | head -1`: once the reader has gone, ctl stops without a traceback,
    with the status of a tool killed by SIGPIPE, as shells expect."""
    s = serve()
    p = subprocess.Popen(_barenet_cmd() + ["ctl", "stats", "--tap", s.tap], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()            # before ctl has its reply, so that every write meets EPIPE
    _, err = p.communicate(timeout=20)
    assert err == b"" and p.returncode == 128 + 13
