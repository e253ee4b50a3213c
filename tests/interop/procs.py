"""Processes the interop tests start (serve, bridge, dnsmasq, tcpdump): ended by pid, SIGTERM
first, always waited for with a timeout, then killed."""

import signal
import subprocess

import pytest


STOP_S = 10


def stop(proc, sig=signal.SIGTERM):
    """Signal proc (unless it has ended), read what is left of its pipes, and kill it if it has
    not ended within STOP_S; -> (exit status, rest of stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=STOP_S)
    return proc.returncode, out, err


def banner(proc, what):
    """proc's first stdout line, which must hold what (else it is stopped and the test fails
    with its stderr)."""
    line = proc.stdout.readline()
    if what not in line:
        stop(proc)
        pytest.fail("no %r in %r: %s" % (what, line, proc.stderr.read()))
    return line
