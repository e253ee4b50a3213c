"""barenet.aio on MicroPython's own asyncio, in the real VM (vm_aio.py): barenet.socket.install
makes asyncio.start_server / open_connection barenet's; streams through MicroPython's Stream
methods, a timed-out read and a cancelled connect that leave no waiter, datagrams, and
examples/chat_asyncio.py with 20 clients x 100 lines on the board profile over a virtual wire
(20: with 40 the VM's default heap runs out; 30 x 100 stalled when last tried)."""

import json
import os

from test_micropython import REPO, run_vm

SYN_SENT = 2


def test_aio_streams_datagrams_and_chat_in_the_vm():
    n, m = 20, 100
    out = json.loads(run_vm("vm_aio.py", os.path.join(REPO, "examples"), n, m,
                            timeout=240).strip().splitlines()[-1])
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
