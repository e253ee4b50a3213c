"""A multi-client chat server on asyncio streams, and a crowd of clients that checks it.

A client sends its name on the first line, gets b"welcome NAME\\n", and from then on every
line it sends reaches every other client as b"NAME: line". Written against asyncio alone, so it
runs on CPython's asyncio as it is, and over barenet once asyncio's open_connection and
start_server are barenet's: `barenet.aio.install(sockets)` on CPython, and on MicroPython
`barenet.socket.install(stack, driver)` does it.

    python chat_asyncio.py serve [HOST [PORT]]
    python chat_asyncio.py clients HOST PORT N M    N clients, M messages each: prints
                                                    "ok N M" when every client got every other
                                                    client's messages, in order per sender
"""

import asyncio
import sys

PORT = 7000


class ChatServer:
    def __init__(self):
        self.clients = {}      # writer -> name
        self.relayed = 0       # lines passed on

    async def handle(self, reader, writer):
        name = (await reader.readline()).strip()
        if not name:
            writer.close()
            return
        self.clients[writer] = name
        writer.write(b"welcome " + name + b"\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                msg = name + b": " + line
                # No drain per recipient: one slow client must not hold up the room; each
                # stream buffers what its client has not taken yet
                for w in self.clients:
                    if w is not writer:
                        w.write(msg)
                        self.relayed += 1
        except OSError:
            pass               # the client went away abruptly: it just leaves the room
        finally:
            del self.clients[writer]
            writer.close()


async def serve(host="0.0.0.0", port=PORT, chat=None):
    """Start the chat server: -> (the asyncio Server, the ChatServer)."""
    chat = chat or ChatServer()
    server = await asyncio.start_server(chat.handle, host, port)
    return server, chat


class Crowd:
    """n clients that join, wait for one another, then each send m lines."""

    def __init__(self, n, m):
        self.n = n
        self.m = m
        self.joined = 0
        self.all_in = asyncio.Event()

    async def client(self, host, port, i):
        name = "c%d" % i
        r, w = await asyncio.open_connection(host, port)
        w.write(name.encode() + b"\n")
        line = await r.readline()
        assert line == b"welcome " + name.encode() + b"\n", line
        self.joined += 1
        if self.joined == self.n:
            self.all_in.set()
        await self.all_in.wait()     # nobody speaks before everyone listens
        sender = asyncio.create_task(self._send(w, name))
        nxt = {}                     # sender -> the number of its next line
        for _ in range((self.n - 1) * self.m):
            line = await r.readline()
            who, _, text = line.decode().partition(": ")
            want = "%s %d\n" % (who, nxt.get(who, 0))
            assert text == want, "%s got %r, wanted %r" % (name, line, want)
            nxt[who] = nxt.get(who, 0) + 1
        await sender
        w.close()
        return sum(nxt.values())

    async def _send(self, w, name):
        for k in range(self.m):
            w.write(("%s %d\n" % (name, k)).encode())
            await w.drain()

    async def run(self, host, port):
        got = await asyncio.gather(*[self.client(host, port, i) for i in range(self.n)])
        assert got == [(self.n - 1) * self.m] * self.n, got
        return got


async def _main(argv):
    if argv[1] == "serve":
        host = argv[2] if len(argv) > 2 else "0.0.0.0"
        port = int(argv[3]) if len(argv) > 3 else PORT
        server, _ = await serve(host, port)
        print("chat on %s:%d" % (host, port))
        await server.wait_closed()
    else:
        n, m = int(argv[4]), int(argv[5])
        await Crowd(n, m).run(argv[2], int(argv[3]))
        print("ok %d %d" % (n, m))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv))
