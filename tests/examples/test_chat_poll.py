"""examples/chat_poll.py, the select.poll chat server, unchanged on two socket layers here: the
kernel's (127.0.0.1) and barenet with its stack in a thread of its own on a virtual wire. 50
clients each send 100 lines; every client must get every other client's lines, none lost, in
order per sender (chat_clients.py); then 1 000 clients, of which 5 talk. As root,
tests/interop/test_chat_poll_tap.py runs it on a TAP with the kernel's sockets as clients,
and tests/micropython/test_poll_vm.py in the MicroPython VM.
"""

import os
import select
import socket
import sys

from barenet import socket as bsocket
from barenet.socket import Sockets
from barenet_host.threaded import RealTimeSim, StackThread
from barenet_host.vwire import Sim

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chat_clients  # noqa: E402
from chat_serving import Serving, installed, load_example  # noqa: E402
from chat_serving import ALL, CLIENTS, LINES, TIMEOUT_S  # noqa: E402
from chat_serving import MANY, MANY_ALL, MANY_LINES, MANY_SENDERS, fds_for  # noqa: E402


def test_chat_on_kernel_sockets():
    mod = load_example("chat_poll_kernel")
    assert mod.socket is socket
    srv = Serving(mod.ChatServer(0, "127.0.0.1"))
    port = srv.server.listener.getsockname()[1]
    r = chat_clients.run(socket, select, "127.0.0.1", port, CLIENTS, LINES, TIMEOUT_S)
    srv.stop()
    assert r == ALL


def _on_barenet(clients, lines, senders=None):
    sim = Sim(start_ms=(1 << 30) - 5000)
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host")
    with StackThread(RealTimeSim(sim)) as drv, installed(a, drv):
        mod = load_example("chat_poll_barenet")
        assert mod.socket is bsocket
        srv = Serving(mod.ChatServer(7000))
        r = chat_clients.run(Sockets(b, drv), select, "192.0.2.1", 7000, clients, lines,
                             TIMEOUT_S, senders=senders)
        srv.stop()
    return r


def test_chat_on_barenet_with_a_stack_thread():
    assert _on_barenet(CLIENTS, LINES) == ALL


def test_a_thousand_chat_clients_on_barenet_with_a_stack_thread():
    fds_for(4 * MANY)     # both ends of every connection are barenet sockets with fds here
    assert _on_barenet(MANY, MANY_LINES, MANY_SENDERS) == MANY_ALL
