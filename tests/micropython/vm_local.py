# Runs inside the MicroPython VM: two asyncio tasks in one stack (board profile) talk over
# AF_UNIX (local.py): a stream whose 2 KB buffer makes the writer wait many times, then
# datagrams faster than the 4-slot queue takes them, so the sender is pushed back and waits.
# Prints one JSON object for the CPython side to check.
import sys

sys.path.append(".frozen")  # MICROPYPATH replaced the path: asyncio is frozen into the VM
import asyncio  # noqa: E402
import binascii  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402

from barenet.compat import EAGAIN  # noqa: E402
from barenet.stack import Stack  # noqa: E402

from vm_common import payload  # noqa: E402

STREAM_N = 20000
DGRAM_SIZES = (0, 1, 100, 2048, 7, 1500, 300, 2000, 64, 1, 999, 5)

stack = Stack("board")
L = stack.local
before = stack.stats
stalls = {"send": 0, "recv": 0, "sendto": 0}


def hexsha(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def watch(ep):
    # The endpoint's readiness (readiness.py) sets an asyncio Event; a task clears it before
    # each try, so a change made by the other task while it runs is never missed.
    ev = asyncio.Event()
    ep.on_event = lambda e: ev.set()
    return ev


async def until(ev, fn, key):
    while True:
        ev.clear()
        try:
            r = fn()
        except OSError as e:
            if e.errno != EAGAIN:
                raise
            r = None
        if r is not None and r != 0:
            return r
        stalls[key] += 1
        await ev.wait()


async def read_to_end(ep, ev, n):
    out = bytearray()
    while True:
        d = await until(ev, lambda: ep.recv(n), "recv")
        if d == b"":
            return bytes(out)
        out += d


async def stream_server(lst):
    ev = watch(lst)
    conn = await until(ev, lst.accept, "recv")
    data = await read_to_end(conn, watch(conn), 700)
    reply = ("%d %s" % (len(data), hexsha(data))).encode()
    conn.send(reply)
    conn.close()


async def stream_client(result):
    c = L.stream()
    ev = watch(c)
    c.connect("/echo")
    data = payload(1, STREAM_N)
    mv = memoryview(data)
    off = 0
    while off < len(data):
        off += await until(ev, lambda: c.send(mv[off:]), "send")
    c.shutdown_write()
    reply = await read_to_end(c, ev, 100)
    result["stream"] = [reply.decode(), hexsha(data), c.getpeername()]
    c.close()


async def dgram_server(ep):
    ev = watch(ep)
    for _ in DGRAM_SIZES:
        d, addr = await until(ev, ep.recvfrom, "recv")
        echo = bytes(reversed(d))
        await until(ev, lambda: ep.sendto(echo, addr) + 1, "sendto")  # + 1: b"" is sent too


async def dgram_client(result):
    ep = L.dgram()
    ep.bind("")                      # autobind, so that the server can answer
    ev = watch(ep)
    got = []

    async def sender():
        for i, n in enumerate(DGRAM_SIZES):
            d = payload(10 + i, n)
            await until(ev, lambda: ep.sendto(d, "/dg") + 1, "sendto")

    async def receiver():
        # Reading while sending: both queues hold 4, so a client that sent all 12 first
        # would wait on a server waiting on it (as it would on Linux)
        for _ in DGRAM_SIZES:
            d, addr = await until(ev, ep.recvfrom, "recv")
            got.append([len(d), hexsha(bytes(reversed(d))), addr])

    await asyncio.gather(sender(), receiver())
    result["dgram"] = got


async def main():
    lst = L.stream()
    lst.bind("/echo")
    lst.listen(1)
    dg = L.dgram()
    dg.bind("/dg")
    result = {}
    work = asyncio.create_task(asyncio.gather(stream_server(lst), stream_client(result),
                                              dgram_server(dg), dgram_client(result)))
    # A lost wake-up would leave every task waiting for ever: count scheduling rounds (not
    # seconds) and fail when they run out, far beyond the few hundred the exchange needs.
    for _ in range(100000):
        if work.done():
            break
        await asyncio.sleep(0)
    else:
        raise SystemExit("stalled: every task waits (a lost wake-up or a dropped datagram)")
    await work
    after = stack.stats
    result["local"] = after.pop("local")
    before.pop("local")
    result["others_unchanged"] = after == before
    result["stalls"] = stalls
    result["endpoints_left"] = L.count
    print(json.dumps(result))


asyncio.run(main())
