"""examples/chat_poll.py on barenet over a TAP, its stack in a thread of its own (the Runner
as a StackThread's world), with 50 kernel clients of 100 lines each in the netns: Python's own
sockets, run there by tests/examples/chat_clients.py as a script."""

import json
import os
import sys

import pytest

from barenet_host.threaded import StackThread

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
sys.path.insert(0, EXAMPLES)
import chat_clients  # noqa: E402
from chat_serving import ALL, CLIENTS, LINES, TIMEOUT_S, Serving, installed, load_example  # noqa: E402,E501


@pytest.mark.root
def test_chat_on_barenet_over_a_tap_with_kernel_clients(barenet, kernel):
    with StackThread(barenet.runner) as drv, installed(barenet.stack, drv):
        srv = Serving(load_example("chat_poll_tap").ChatServer(7000))
        with open(chat_clients.__file__) as f:
            p = kernel.popen_py(f.read(), kernel.barenet_ip, "7000", str(CLIENTS), str(LINES),
                                str(TIMEOUT_S))
        try:
            out, err = p.communicate(timeout=TIMEOUT_S + 30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        srv.stop()
    assert p.returncode == 0, err
    assert json.loads(out) == ALL
