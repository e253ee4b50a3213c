# Runs inside the MicroPython VM, on its own asyncio: barenet.aio between two stacks on a virtual
# wire (the pump task steps the simulator through SimDriver.astep). barenet.socket.install()
# makes asyncio.start_server / open_connection barenet's; then an echo through MicroPython's
# Stream methods, a refused connect, a timed-out read that leaves no waiter and loses no data,
# a cancelled connect, a datagram echo, and examples/chat_asyncio.py with argv[2] clients of
# argv[3] lines each. argv[1]: the examples folder. Prints one JSON object for CPython to check.
import asyncio
import json
import sys

from barenet import aio, socket as bsocket
from barenet.socket import Sockets
from barenet_host.vwire import Sim, SimDriver

sys.path.append(sys.argv[1])
import chat_asyncio  # noqa: E402

sim = Sim((1 << 30) - 3000)
wire = sim.wire()
# the board profile, with room for the chat crowd's connections
a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", max_connections=128)
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", max_connections=128)
drv = SimDriver(sim)
bsocket.install(a, drv)
srv = aio._default
cli = aio.Net(Sockets(b, drv))
out = {"installed": asyncio.start_server is aio.start_server and
       asyncio.open_connection is aio.open_connection}


async def echo(reader, writer):
    while True:
        d = await reader.read(1000)
        if not d:
            break
        await writer.awrite(d)
    await writer.aclose()


async def streams():
    server = await asyncio.start_server(echo, "0.0.0.0", 7)
    r, w = await cli.open_connection("192.0.2.1", 7)
    out["peer"] = list(w.get_extra_info("peername"))
    big = bytes((i * 7 + 3) & 0xFF for i in range(30000))
    # written by its own task: MicroPython's drain() waits until all is out, and the echo
    # comes back while it waits
    t = asyncio.create_task(w.awrite(b"one\ntwo\n" + big))
    buf = bytearray(4)
    out["lines"] = [await r.readline(), await r.readinto(buf), bytes(buf)]
    out["big"] = (await r.readexactly(len(big))) == big
    await t
    try:
        await asyncio.wait_for(r.read(10), 0.1)
    except asyncio.TimeoutError:
        out["timeout_waiters"] = cli.waiting
    w.write(b"late")
    out["late"] = await r.readexactly(4)
    w.close()
    await w.wait_closed()
    try:
        await r.readexactly(1)
    except EOFError:
        out["eof"] = "EOFError"
    # a cancelled connect: its half-open connection goes with it
    t = asyncio.create_task(cli.open_connection("192.0.2.1", 7))
    await asyncio.sleep(0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        out["cancelled"] = [cli.waiting, [c.state for c in b.tcp.connections()]]
    server.close()
    await server.wait_closed()
    try:
        await cli.open_connection("192.0.2.1", 7)
    except OSError as e:
        out["refused"] = e.errno


async def datagrams():
    s = await srv.open_datagram(local_addr=("0.0.0.0", 5000))
    c = await cli.open_datagram(remote_addr=("192.0.2.1", 5000))
    c.sendto(b"ping")
    data, addr = await s.recvfrom()
    s.sendto(data + b"/pong", addr)
    out["udp"] = [(await c.recvfrom())[0], addr[0]]
    s.close()
    c.close()


async def chat(n, m):
    asyncio.open_connection = cli.open_connection      # the crowd is on the client stack
    server, room = await chat_asyncio.serve("192.0.2.1", 7000)
    t0 = sim.ms
    await chat_asyncio.Crowd(n, m).run("192.0.2.1", 7000)
    server.close()
    await server.wait_closed()
    out["chat"] = [n, m, room.relayed, sim.ms - t0]


async def main():
    await streams()
    await datagrams()
    out["waiting"] = [srv.waiting, cli.waiting]
    await chat(int(sys.argv[2]), int(sys.argv[3]))


asyncio.run(main())
for k in ("lines", "late"):
    out[k] = [x.decode() if isinstance(x, bytes) else x for x in out[k]] \
        if isinstance(out[k], list) else out[k].decode()
out["udp"][0] = out["udp"][0].decode()
bsocket.uninstall()
out["uninstalled"] = asyncio.start_server is not aio.start_server
print(json.dumps(out))
