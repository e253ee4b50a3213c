"""`barenet run SCRIPT`: a program's `import socket` runs over barenet. Argument mistakes are
one line and exit status 2 before any device is touched; the script's own exit status,
arguments, sys.path and exceptions are what `python SCRIPT` gives. These run barenet on its
loopback only (no TAP); the TAP runs are tests/interop/test_examples_netns.py.
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

BARENET = [os.path.join(os.path.dirname(sys.executable), "barenet")]


def barenet_run(*args, timeout=60):
    return subprocess.run(BARENET + ["run"] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def script(tmp_path, text, name="prog.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


@pytest.mark.parametrize("argv, message", [
    ([], "run needs a SCRIPT"),
    (["--tap", "bnr0", "S"], "a device (--tap, --tun or --dev) and --ip go together"),
    (["--ip", "192.0.2.2/24", "S"], "a device (--tap, --tun or --dev) and --ip go together"),
    (["--gw", "192.0.2.1", "S"], "--gw and --mac need a device"),
    (["--tap", "bnr0", "--ip", "192.0.2.2/24", "--gw", "198.51.100.1", "S"],
     "gateway 198.51.100.1 is not another host on 192.0.2.2/24"),
    (["--tap", "bad name", "--ip", "192.0.2.2/24", "S"], "invalid TAP name"),
    (["--ip", "192.0.2.0/24", "--tap", "bnr0", "S"], "network or broadcast address"),
    (["--mtu", "100", "S"], "MTU must be an integer 576..9000"),
    (["/no/such/script.py"], "no such script: /no/such/script.py"),
    (["--tun", "bnr0", "S"], "a device (--tap, --tun or --dev) and --ip go together"),
    (["--tap", "bnr0", "--tun", "bnr1", "--ip", "192.0.2.2/24", "S"],
     "argument --tun: not allowed with argument --tap"),
    (["--dev", "tun:bnr0", "--ip", "192.0.2.2/24", "--mac", "02:00:00:00:00:01", "S"],
     "--mac does not apply to tun:bnr0"),
    (["--verbose", "S"], "--faults, --pcap and --verbose need a device"),
    (["--faults", "loss=0.1", "S"], "--faults, --pcap and --verbose need a device"),
    (["--dev", "udp:1", "--ip", "192.0.2.2/24", "--faults", "loss=x", "S"],
     "faults 'loss=x': loss='x' is not a number"),
])
def test_usage_errors_are_one_line_and_status_2(tmp_path, argv, message):
    argv = [script(tmp_path, "raise SystemExit(9)\n") if a == "S" else a for a in argv]
    p = barenet_run(*argv)
    assert p.returncode == 2, p
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("barenet: error: ") and message in lines[0]
    assert p.stdout == ""


def test_help_says_what_run_does():
    p = barenet_run("--help")
    assert p.returncode == 0
    assert "SCRIPT" in p.stdout and "--tap" in p.stdout and "--gw" in p.stdout


def test_the_script_gets_barenet_sockets_its_argv_its_directory_and_its_status(tmp_path):
    script(tmp_path, "WORD = 'sibling'\n", "helper.py")
    prog = script(tmp_path, """\
        import socket, sys, usocket
        import helper
        print(socket.__name__, usocket is socket, helper.WORD, sys.argv[1:], __name__)
        l = socket.socket(); l.bind(("127.0.0.1", 7)); l.listen(1)
        c = socket.create_connection(("127.0.0.1", 7), timeout=5)
        a, peer = l.accept()
        c.sendall(b"over barenet's loopback")
        print(a.recv(100).decode(), peer[0])
        sys.exit(3)
        """)
    p = barenet_run(prog, "--port", "7", "-h")
    assert p.returncode == 3, p
    assert p.stdout.splitlines() == [
        "barenet.socket True sibling ['--port', '7', '-h'] __main__",
        "over barenet's loopback 127.0.0.1"]
    assert p.stderr == "barenet: running %s (loopback only)\n" % prog


def test_an_exception_in_the_script_is_its_traceback_and_status_1(tmp_path):
    prog = script(tmp_path, """\
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", ("127.0.0.1", 0))   # port 0: EINVAL
        """)
    p = barenet_run(prog)
    assert p.returncode == 1
    assert p.stderr.rstrip().splitlines()[-1] == "OSError: [Errno 22] EINVAL"
    assert 'File "%s", line 3' % prog in p.stderr


def test_sigterm_ends_the_script_through_its_finally(tmp_path):
    prog = script(tmp_path, """\
        import socket
        l = socket.socket(); l.bind(("127.0.0.1", 80)); l.listen(1)
        try:
            print("listening", flush=True)
            l.accept()
        finally:
            print("finally ran", flush=True)
        """)
    p = subprocess.Popen(BARENET + ["run", prog], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline() == "listening\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=30)
    assert out == "finally ran\n", (out, err, p.returncode)
    assert p.returncode == 128 + signal.SIGTERM
