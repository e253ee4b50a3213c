"""examples/chat_poll.py on barenet over a TAP, its stack in a thread of its own (the Runner
as a StackThread's world), with kernel clients in the netns: 50 of 100 lines each, then 1 000
that all join before each sends a line every other one gets. The clients are Python's own
sockets, run there by tests/examples/chat_clients.py."""

import json
import os
import sys

import pytest

from barenet_host.threaded import StackThread

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
sys.path.insert(0, EXAMPLES)
import chat_clients  # noqa: E402
from chat_serving import ALL, CLIENTS, LINES, TIMEOUT_S  # noqa: E402
from chat_serving import Serving, installed, load_example  # noqa: E402
from chat_serving import EVERYONE, MANY, fds_for  # noqa: E402


def _chat(barenet, kernel, clients, lines, senders):
    with StackThread(barenet.runner) as drv, installed(barenet.stack, drv):
        srv = Serving(load_example("chat_poll_tap").ChatServer(7000))
        with open(chat_clients.__file__) as f:
            p = kernel.popen_py(f.read(), kernel.barenet_ip, "7000", str(clients), str(lines),
                                str(TIMEOUT_S), str(senders))
        try:
            out, err = p.communicate(timeout=TIMEOUT_S + 30)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        srv.stop()
    assert p.returncode == 0, err
    return json.loads(out)


@pytest.mark.root
def test_chat_on_barenet_over_a_tap_with_kernel_clients(barenet, kernel):
    assert _chat(barenet, kernel, CLIENTS, LINES, CLIENTS) == ALL


@pytest.mark.root
def test_a_thousand_kernel_chat_clients_on_barenet_over_a_tap(barenet, kernel):
    fds_for(2 * MANY)     # the server's side of each connection has an fd pair here
    # issue 9: 1 000 kernel clients connected at once, then all exchange messages
    assert _chat(barenet, kernel, MANY, 1, MANY) == EVERYONE
