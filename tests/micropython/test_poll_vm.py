"""select.poll on barenet sockets in the real MicroPython VM, single-threaded (issue 9 item
5): vm_poll.py polls a listener, connects, data, end of stream and UDP with the runtime's own
poll, whose ioctl call is what moves the stack, then runs examples/chat_poll.py with 6 chat
clients of 50 lines each in the same thread (the board profile's connection table)."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_micropython import run_vm  # noqa: E402

IN, OUT, ERR, HUP = 1, 4, 8, 16


def test_select_poll_on_barenet_sockets_in_the_vm():
    r = json.loads(run_vm("vm_poll.py", 6, 50))
    assert r["idle_listener"] == 0 and r["idle_conn"] == 0 and r["udp_idle"] == 0
    assert r["connect"] == 115                       # EINPROGRESS
    assert r["writable"] == OUT and r["so_error"] == 0
    assert r["listener"] == IN
    assert (r["data"], r["got"]) == (IN, "hello")
    assert r["eof"] == IN and r["eof_read"] is True
    # a refused connect: both ways shut, as Linux's tcp_poll after tcp_done; SO_ERROR says why
    assert r["refused"] == OUT | ERR | HUP and r["refused_error"] == 111
    assert (r["udp"], r["udp_got"]) == (IN, "ping")
    assert r["chat"] == {"joined": 6, "lines": 6 * 5 * 50, "missing": 0, "errors": []}
