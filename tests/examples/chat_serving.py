"""What the chat example's tests share (test_chat_poll.py here, the TAP run in tests/interop):
a fresh import of examples/chat_poll.py, its server polled in a thread, the counts."""

import contextlib
import importlib.util
import os
import resource
import threading

import pytest

from barenet import socket as bsocket

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "chat_poll.py")
CLIENTS, LINES, TIMEOUT_S = 50, 100, 120
ALL = {"joined": CLIENTS, "lines": CLIENTS * (CLIENTS - 1) * LINES, "missing": 0, "errors": []}
# Many clients (issue 9 item 8, the host profile's 1 000 connections): all join, 5 talk
MANY, MANY_SENDERS, MANY_LINES = 1000, 5, 10
MANY_ALL = {"joined": MANY, "lines": MANY_SENDERS * (MANY - 1) * MANY_LINES, "missing": 0,
            "errors": []}
# ... and over a TAP with kernel clients (the acceptance test): every one of them sends a line
# that all the others get, 999 000 deliveries
EVERYONE = {"joined": MANY, "lines": MANY * (MANY - 1), "missing": 0, "errors": []}


def fds_for(n):
    """Let this process hold n more fds (a watched barenet socket takes 2): the soft limit up
    to what is needed, the hard one too if it must and may."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = len(os.listdir("/proc/self/fd")) + n + 64
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
        except (ValueError, OSError):
            pytest.fail("needs %d fds, the hard limit is %d (ulimit -Hn)" % (want, hard),
                        pytrace=False)


def load_example(name):
    """A fresh import of the example: its `import socket` gives what sys.modules holds now."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Serving:
    """The example's server polled in a thread of its own until stop()."""

    def __init__(self, server):
        self.server = server
        self._stop = threading.Event()
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                self.server.poll(50)
        except BaseException as e:
            self.error = e

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error
        self.server.close()


@contextlib.contextmanager
def installed(stack, driver):
    """barenet.socket.install(stack, driver), undone after the block."""
    bsocket.install(stack, driver)
    try:
        yield
    finally:
        bsocket.uninstall()
