"""examples/chat_asyncio.py served by barenet on a TAP in a netns, through barenet.aio on
CPython's asyncio (RunnerDriver.astep: the TAP's fd in the event loop), to kernel clients:
the same example's crowd, run by CPython's own asyncio inside the namespace, 50 clients x 100
lines, none lost, in order per sender (issue 9 item 9)."""

import asyncio
import os
import sys

import pytest

from barenet import aio
from barenet.socket import Sockets
from barenet_host.runner import RunnerDriver

pytestmark = pytest.mark.root

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chat_asyncio.py")
CLIENTS, LINES = 50, 100
RUN_S = 180          # generous: a loaded 2-core machine


def test_fifty_kernel_clients_chat_through_barenet_aio(barenet, kernel, monkeypatch):
    sys.path.insert(0, os.path.dirname(EXAMPLE))
    try:
        import chat_asyncio
    finally:
        sys.path.pop(0)
    ip = kernel.barenet_ip
    net = aio.Net(Sockets(barenet.stack, RunnerDriver(barenet.runner)))
    monkeypatch.setattr(asyncio, "start_server", net.start_server)

    async def main():
        server, room = await chat_asyncio.serve(ip, 7000)
        proc = await asyncio.create_subprocess_exec(
            *kernel.ns.argv([sys.executable, EXAMPLE, "clients", ip, "7000",
                             str(CLIENTS), str(LINES)]),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), RUN_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        server.close()
        await server.wait_closed()
        return proc.returncode, out.decode(), err.decode(), room

    rc, out, err, room = asyncio.run(main())
    assert rc == 0 and out.strip() == "ok %d %d" % (CLIENTS, LINES), (out, err[-3000:])
    assert room.relayed == CLIENTS * (CLIENTS - 1) * LINES
    net.stop()
