"""examples/chat_asyncio.py served by barenet on a TAP in a netns, through barenet.aio on
CPython's asyncio (RunnerDriver.astep: the TAP's fd in the event loop), to kernel clients:
the same example's crowd, run by CPython's own asyncio inside the namespace: 50 clients x 100
lines (issue 9 item 9), and 1 000 clients connected at once that each send a line all the
others get (item 8's acceptance); none lost, in order per sender."""

import asyncio
import os
import sys

import pytest

from barenet import aio
from barenet.socket import Sockets
from barenet_host.runner import RunnerDriver

pytestmark = pytest.mark.root

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chat_asyncio.py")
RUN_S = 180          # generous: a loaded 2-core machine


@pytest.mark.parametrize("clients, lines", [(50, 100), (1000, 1)])
def test_kernel_clients_chat_through_barenet_aio(barenet, kernel, monkeypatch, clients, lines):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    try:
        from chat_serving import fds_for
    finally:
        sys.path.pop(0)
    fds_for(clients + 64)    # the kernel clients' process inherits the limit
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
                             str(clients), str(lines)]),
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
    assert rc == 0 and out.strip() == "ok %d %d" % (clients, lines), (out, err[-3000:])
    assert room.relayed == clients * (clients - 1) * lines
    net.stop()
