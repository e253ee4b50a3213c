"""Processes the interop tests start (serve, bridge, dnsmasq, tcpdump): ended by pid, SIGTERM
first, always waited for with a timeout, then killed."""

import json
import queue
import signal
import subprocess
import threading
import time

import pytest

LINE_TIMEOUT_S = 60


STOP_S = 10


def stop(proc, sig=signal.SIGTERM):
    """Signal proc (unless it has ended), read what is left of its pipes, and kill it if it has
    not ended within STOP_S; -> (exit status, rest of stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    elif all(f is None or f.closed for f in (proc.stdout, proc.stderr)):
        return proc.returncode, None, None        # stopped before
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
        _, _, err = stop(proc)
        pytest.fail("no %r in %r: %s" % (what, line, err))
    return line


class Lines:
    """A process's stdout lines, read by a thread (select on a buffered pipe would miss lines
    that one read brought in together)."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        self.seen = []          # every line read so far
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line)
        self.q.put(None)

    def until(self, found, what, timeout_s=LINE_TIMEOUT_S):
        """The next line for which found(line) is true; the test fails (the process stopped,
        its stderr shown) if none comes within timeout_s."""
        end = time.monotonic() + timeout_s
        while True:
            try:
                line = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                _, _, err = stop(self.proc)
                pytest.fail("no %s within %d s: %s" % (what, timeout_s, err))
            if line is None:
                _, _, err = stop(self.proc)
                pytest.fail("process ended waiting for %s: %s" % (what, err))
            self.seen.append(line)
            if found(line):
                return line

    def json(self, key, timeout_s=LINE_TIMEOUT_S):
        """The next JSON line holding key."""
        return json.loads(self.until(lambda line: key in json.loads(line), repr(key), timeout_s))

    def text(self, part, timeout_s=LINE_TIMEOUT_S):
        """The next line holding part."""
        return self.until(lambda line: part in line, repr(part), timeout_s)
