"""Processes the bridge tests start (test_bridge_kernel.py, test_bridge_nat.py): ended by
pid, SIGTERM first, always waited for with a timeout."""

import signal
import subprocess

import pytest


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def banner(proc, what):
    """proc's first stdout line, which must hold what (else it is stopped and the test fails
    with its stderr)."""
    line = proc.stdout.readline()
    if what not in line:
        stop(proc)
        pytest.fail("no %r in %r: %s" % (what, line, proc.stderr.read()))
    return line
