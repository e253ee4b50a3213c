"""examples/chat_asyncio.py, unmodified, on CPython's asyncio (127.0.0.1) and over barenet.aio
on a virtual wire: 50 clients send 100 lines each, every client gets every other's lines, none
lost, in order per sender (issue 9 item 9). asyncio's open_connection / start_server are
barenet's for the barenet run (the client side's and the server side's stack), as
aio.install() makes them."""

import asyncio
import importlib.util
import os

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "chat_asyncio.py")


def load_example():
    spec = importlib.util.spec_from_file_location("chat_asyncio", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fifty_chat_clients_hundred_messages_each(anet, monkeypatch):
    chat = load_example()
    monkeypatch.setattr(asyncio, "start_server", anet.srv.start_server)
    monkeypatch.setattr(asyncio, "open_connection", anet.cli.open_connection)
    n, m = 50, 100

    async def main():
        server, room = await chat.serve(anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        await chat.Crowd(n, m).run(anet.srv_ip, port)
        server.close()
        await server.wait_closed()
        return room

    room = anet.run(main())
    assert room.relayed == n * (n - 1) * m
    assert anet.waiting() in (None, 0)
