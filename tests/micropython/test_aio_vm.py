"""barenet.aio on MicroPython's own asyncio, in the real VM (vm_aio.py): barenet.socket.install
makes asyncio.start_server / open_connection barenet's; streams through MicroPython's Stream
methods, a timed-out read and a cancelled connect that leave no waiter, datagrams, and
examples/chat_asyncio.py with 50 clients x 100 lines over a virtual wire: the board profile's
buffers, with room for 128 connections, in an 8 MB heap (the VM's default heap holds 20
clients' connection pairs, not 30: then a MemoryError ends a chat handler)."""

import json
import os

from test_micropython import REPO, run_vm

SYN_SENT = 2


def test_aio_streams_datagrams_and_chat_in_the_vm():
    n, m = 50, 100
    out = json.loads(run_vm("vm_aio.py", os.path.join(REPO, "examples"), n, m, timeout=240,
                            opts=("-X", "heapsize=8M")).strip().splitlines()[-1])
    assert out["installed"] and out["uninstalled"]
    assert out["peer"] == ["192.0.2.1", 7]
    assert out["lines"] == ["one\n", 4, "two\n"] and out["big"] is True
    assert out["timeout_waiters"] == 0 and out["late"] == "late"
    assert out["eof"] == "EOFError"              # MicroPython's readexactly at the end
    waiting, states = out["cancelled"]
    assert waiting == 0 and SYN_SENT not in states
    assert out["refused"] == 111
    assert out["udp"] == ["ping/pong", "192.0.2.2"]
    assert out["waiting"] == [0, 0]
    assert out["chat"][:3] == [n, m, n * (n - 1) * m]
