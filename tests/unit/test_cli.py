"""`barenet` argument handling: every user mistake is one stderr line and exit status 2.

None of these reach a TAP device (the argument checks come first), so no root is needed,
except the permission test, which drops root itself when it has it.
"""

import argparse
import io
import os
import shutil
import subprocess
import sys

import pytest

from barenet_host import cli
from barenet_host import cliargs
from unprivileged import NOBODY, readable_copy, scratch_dir, unprivileged_python

GOOD = ["serve", "--tap", "bnx", "--ip", "192.0.2.2/24"]
TUN = ["serve", "--tun", "bnt", "--ip", "192.0.2.2/24"]
DEV = ["serve", "--dev", "udp:5555", "--ip", "192.0.2.2/24"]


@pytest.fixture(autouse=True)
def no_tap(monkeypatch):
    """In-process runs must fail before a device is touched: a test that got past the checks
    would otherwise create a TAP in this namespace and serve until killed."""
    def fake(spec, create=True):
        raise AssertionError("argument checks let %r through to the device" % spec)
    monkeypatch.setattr(cli, "open_device", fake)


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv, message", [
    ([], "a command is required"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["serve"], "the following arguments are required: --ip"),
    (["serve", "--ip", "192.0.2.2/24"], "one of the arguments --tap --tun --dev is required"),
    (["serve", "--tap", "bnx"], "the following arguments are required: --ip"),
    (GOOD[:4] + ["1.2.3/24"], "argument --ip: invalid address '1.2.3/24'"),
    (GOOD[:4] + ["192.0.2.2"], "argument --ip: invalid address '192.0.2.2' (want a.b.c.d/prefix"),
    (GOOD[:4] + ["192.0.2.2/33"], "argument --ip: invalid address '192.0.2.2/33'"),
    (GOOD[:4] + ["192.0.2.256/24"], "argument --ip: invalid address"),
    (GOOD[:4] + ["192.0.2.0/24"], "192.0.2.0/24 is a network or broadcast address"),
    (GOOD[:4] + ["192.0.2.255/24"], "192.0.2.255/24 is a network or broadcast address"),
    (GOOD + ["--gateway", "192.0.2"], "argument --gateway: invalid IPv4 address '192.0.2'"),
    (GOOD + ["--gateway", "198.51.100.1"], "gateway 198.51.100.1 is not another host on 192.0.2.2/24"),
    (GOOD + ["--gateway", "192.0.2.2"], "gateway 192.0.2.2 is not another host"),
    (GOOD + ["--mac", "02:00:00:00:00"], "argument --mac: invalid MAC address '02:00:00:00:00'"),
    (GOOD + ["--mac", "02:00:00:00:00:zz"], "argument --mac: invalid MAC address"),
    (GOOD + ["--mac", "03:00:00:00:00:01"], "03:00:00:00:00:01 is not a unicast MAC address"),
    (GOOD + ["--mac", "00:00:00:00:00:00"], "is not a unicast MAC address"),
    (GOOD + ["--mtu", "575"], "argument --mtu: MTU must be an integer 576..9000, not '575'"),
    (GOOD + ["--mtu", "9001"], "MTU must be an integer 576..9000, not '9001'"),
    (GOOD + ["--mtu", "1500.0"], "MTU must be an integer 576..9000"),
    (GOOD + ["--udp-echo", "0"], "argument --udp-echo: port must be an integer 1..65535, not '0'"),
    (GOOD + ["--udp-echo", "65536"], "port must be an integer 1..65535"),
    (GOOD + ["--udp-echo", "7", "--udp-echo", "7"], "--udp-echo ports must differ"),
    (GOOD + ["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["serve", "--tap", "x" * 16, "--ip", "192.0.2.2/24"], "invalid TAP name 'xxxxxxxxxxxxxxxx': must be 1..15 bytes"),
    (["serve", "--tap", "a/b", "--ip", "192.0.2.2/24"], "invalid TAP name 'a/b'"),
    (["serve", "--tap", "", "--ip", "192.0.2.2/24"], "invalid TAP name ''"),
    (GOOD + ["--tun", "bnt"], "argument --tun: not allowed with argument --tap"),
    (GOOD + ["--dev", "tun:bnt"], "argument --dev: not allowed with argument --tap"),
    (TUN[:2] + ["x" * 16] + TUN[3:], "argument --tun: invalid TUN name 'xxxxxxxxxxxxxxxx'"),
    (TUN + ["--mac", "02:00:00:00:00:01"], "--mac does not apply to tun:bnt: an ip link has no MAC"),
    (DEV[:2] + ["tun:bnt", "--mac", "02:00:00:00:00:01"] + DEV[3:], "--mac does not apply to tun:bnt"),
    (DEV[:2] + ["eth0"] + DEV[3:], "argument --dev: device 'eth0': unknown kind 'eth0'"),
    (DEV[:2] + ["serial:/dev/ttyS0@10"] + DEV[3:], "argument --dev: device 'serial:/dev/ttyS0@10': baud rate 10 is out of range"),
    (GOOD + ["--faults", "loss=2"], "argument --faults: faults 'loss=2': loss must be a probability 0..1, not 2"),
    (TUN + ["--faults", "delay=20us"], "argument --faults: faults 'delay=20us': delay='20us' is not a number"),
])
def test_bad_argument_is_one_line_and_status_2(argv, message):
    rc, out, err = run_main(argv)
    assert rc == 2
    assert out == ""
    assert err.startswith("barenet: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert message in err


def test_console_script_error_has_no_traceback_or_usage():
    script = shutil.which("barenet", path=os.path.dirname(sys.executable))
    cmd = [script] if script else [sys.executable, "-m", "barenet_host.cli"]
    r = subprocess.run(cmd + ["serve", "--tap", "bnx", "--ip", "nonsense"],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "barenet: error: argument --ip: invalid address 'nonsense' " \
                       "(want a.b.c.d/prefix)\n"


@pytest.mark.parametrize("flag, kind", [("--tap", "TAP"), ("--tun", "TUN")])
def test_permission_error_is_one_line(flag, kind):
    # Unprivileged, TUNSETIFF (or opening /dev/net/tun) is refused before any device exists.
    args = ["-m", "barenet_host.cli", "serve", flag, "bnperm0", "--ip", "192.0.2.2/24"]
    if os.geteuid() != 0:
        r = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=30)
    else:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to drop root")
        # nobody runs the CLI from a copy it can read, wherever the checkout lives; -S keeps
        # site-packages (and the checkout's editable install) out, so cwd's copy is imported
        d = scratch_dir("bnperm")
        try:
            readable_copy(d)
            exe = unprivileged_python(setpriv, d)
            if exe is None:
                pytest.skip("no Python interpreter that the user nobody can run")
            r = subprocess.run([setpriv] + NOBODY + [exe, "-E", "-S", "-B"] + args, cwd=d,
                               capture_output=True, text=True, timeout=30)
        finally:
            shutil.rmtree(d)
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr.startswith("barenet: error: cannot open %s 'bnperm0': permission denied "
                               "(needs root or CAP_NET_ADMIN for TAP/TUN, or a %s made for "
                               "this user with `ip tuntap add dev bnperm0 mode %s user $USER`)"
                               % (kind, kind, kind.lower())), r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("argv, words", [
    (["--help"], ["serve", "ctl", "run"]),
    (["serve", "--help"], ["--tap NAME", "--tun NAME", "--dev SPEC", "--udp-echo", "--faults SPEC",
                           "--pcap FILE", "--verbose"]),
    (["ctl", "--help"], ["--tap NAME", "--tun NAME", "--dev SPEC", "--ctl PATH", "--json"]),
    (["run", "--help"], ["--tap NAME", "--tun NAME", "--dev SPEC", "SCRIPT", "--pcap FILE"]),
])
def test_help(argv, words, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: barenet")
    assert [w for w in words if w not in text] == []


def test_default_mac_is_local_unicast_from_the_address():
    mac = cliargs.default_mac(b"\xc0\x00\x02\x02")
    assert mac == b"\x02\x00\xc0\x00\x02\x02"
    assert mac[0] & 0x02 and not mac[0] & 0x01  # IEEE 802: locally administered, unicast


def _commands(parser, path=()):
    """Every command and subcommand of the parser tree, as argv prefixes."""
    yield list(path)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, path + (name,))


ALL_COMMANDS = list(_commands(cli._parser()))


def test_the_command_tree_is_what_the_readme_documents():
    tops = sorted(c[0] for c in ALL_COMMANDS if len(c) == 1)
    assert tops == ["bridge", "client", "ctl", "flash", "plot", "run", "serve", "virtual-board"], tops
    assert len(ALL_COMMANDS) > 10


def test_serve_starts_without_the_other_commands_modules():
    """`serve --help` in a fresh interpreter imports none of the modules of the commands
    cli.py does not define (nor the run command's), while the full --help lists them all."""
    code = ("import sys\nfrom barenet_host import cli\n"
            "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(m for m in sys.modules if m.startswith('barenet_host.')), "
            "file=sys.stderr)")

    def imported(*argv):
        p = subprocess.run([sys.executable, "-c", code] + list(argv), capture_output=True,
                           text=True, timeout=60, check=True)
        return p.stdout, set(p.stderr.split())

    out, mods = imported("serve", "--help")
    assert out.startswith("usage: barenet serve")
    lazy = set("barenet_host." + m for m in cli.COMMAND_MODULES + ("run",))
    assert not mods & lazy, mods & lazy
    out, mods = imported("--help")
    assert set("barenet_host." + m for m in cli.COMMAND_MODULES) <= mods
    assert "virtual-board" in out and "client" in out


@pytest.mark.parametrize("argv", ALL_COMMANDS, ids=lambda a: " ".join(a) or "barenet")
def test_every_command_has_help_and_a_one_line_error_for_an_unknown_option(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv + ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: barenet " + " ".join(argv)), out
    err = io.StringIO()
    assert cli.main(argv + ["--no-such-option"], io.StringIO(), err) == 2
    assert err.getvalue().startswith("barenet: error: ") and err.getvalue().count("\n") == 1
