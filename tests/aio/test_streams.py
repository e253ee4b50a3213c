"""asyncio streams, the same coroutines against CPython's asyncio on 127.0.0.1 and barenet.aio
on a virtual wire (conftest.py): echo, end of stream, readline / readexactly / readuntil and
IncompleteReadError, a refused connect, many clients at once, backpressure through drain(),
and timeouts / cancellation that leave no waiter behind and lose no data."""

import asyncio
import errno
import hashlib

import pytest


async def echo(reader, writer):
    while True:
        d = await reader.read(4096)
        if not d:
            break
        writer.write(d)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_echo_lines_and_names(anet):
    async def main():
        server = await anet.srv.start_server(echo, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        assert w.get_extra_info("peername") == (anet.srv_ip, port)
        assert w.get_extra_info("sockname")[0] == anet.cli_ip
        assert w.get_extra_info("socket") is not None
        w.write(b"one\ntwo\n")
        w.writelines([b"thr", b"ee\nfour"])
        await w.drain()
        assert await r.readline() == b"one\n"
        assert await r.readexactly(4) == b"two\n"
        assert await r.readuntil(b"\n") == b"three\n"
        assert await r.readexactly(4) == b"four"
        assert not w.is_closing()
        w.close()
        assert w.is_closing()
        await w.wait_closed()
        server.close()
        await server.wait_closed()
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_end_of_stream_and_incomplete_reads(anet):
    async def handle(reader, writer):
        got = await reader.read()          # to the end: the client's write_eof
        writer.write(got.upper() + b"tail")
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await anet.srv.start_server(handle, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        assert w.can_write_eof()
        w.write(b"line\n")
        w.write_eof()
        assert await r.readline() == b"LINE\n"
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await r.readexactly(10)
        assert (e.value.partial, e.value.expected) == (b"tail", 10)
        assert r.at_eof()
        assert await r.read(100) == b""
        assert await r.readline() == b""
        with pytest.raises(asyncio.IncompleteReadError) as e:
            await r.readuntil(b"\n")
        assert e.value.partial == b""
        w.close()
        await w.wait_closed()
        server.close()
        await server.wait_closed()
    anet.run(main())


def test_readline_returns_the_partial_line_at_the_end(anet):
    async def handle(reader, writer):
        writer.write(b"a\nno newline")
        writer.close()

    async def main():
        server = await anet.srv.start_server(handle, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        assert [await r.readline() for _ in range(3)] == [b"a\n", b"no newline", b""]
        w.close()
        server.close()
    anet.run(main())


def test_refused_connect_is_connection_refused(anet):
    async def main():
        # a port that was just free: nothing listens there
        s = anet.srv_sockets.socket(anet.srv_sockets.AF_INET, anet.srv_sockets.SOCK_STREAM)
        s.bind((anet.srv_ip, 0))
        port = s.getsockname()[1]
        s.close()
        with pytest.raises(ConnectionRefusedError) as e:
            await anet.cli.open_connection(anet.srv_ip, port)
        assert e.value.errno == errno.ECONNREFUSED
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_server_with_many_clients(anet):
    n = 30

    async def client(port, i):
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        data = b"%d " % i * (100 + 37 * i)
        w.write(data)
        await w.drain()
        got = await r.readexactly(len(data))
        w.close()
        await w.wait_closed()
        return got == data

    async def main():
        async with await anet.srv.start_server(echo, anet.srv_ip, 0, backlog=n) as server:
            port = server.sockets[0].getsockname()[1]
            ok = await asyncio.gather(*[client(port, i) for i in range(n)])
        assert ok == [True] * n
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_drain_blocks_a_writer_on_a_slow_reader_and_nothing_is_lost(anet):
    chunk = bytes(range(256)) * 256          # 64 KiB
    total = 512                              # chunks: 32 MiB, far beyond any buffering
    state = {}

    async def slow(reader, writer):
        await state["go"].wait()             # not reading: the window closes
        h = hashlib.sha256()
        n = 0
        while True:
            d = await reader.read(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        state["got"] = (n, h.hexdigest())
        writer.close()

    async def write_all(w):
        for _ in range(total):
            w.write(chunk)
            await w.drain()
            state["sent"] += 1
        w.close()
        await w.wait_closed()

    async def main():
        state["go"] = asyncio.Event()
        state["sent"] = 0
        server = await anet.srv.start_server(slow, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        t = asyncio.create_task(write_all(w))
        await anet.sleep(0.5)
        assert not t.done(), "the writer never blocked"
        blocked_at = state["sent"]
        assert 0 < blocked_at < total // 2
        await anet.sleep(0.2)
        assert state["sent"] == blocked_at, "drain() returned while nobody read"
        state["go"].set()
        await t
        while "got" not in state:
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()

    anet.run(main())
    want = hashlib.sha256(chunk * total).hexdigest()
    assert state["got"] == (len(chunk) * total, want)
    assert anet.waiting() in (None, 0)


def test_read_timeout_leaves_no_waiter_and_loses_no_data(anet):
    later = {}

    async def handle(reader, writer):
        await later["send"].wait()
        writer.write(b"late")
        await writer.drain()
        await reader.read()
        writer.close()

    async def main():
        later["send"] = asyncio.Event()
        server = await anet.srv.start_server(handle, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(r.read(10), 0.1)
        t = asyncio.create_task(r.readexactly(4))
        await asyncio.sleep(0.05)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        if anet.barenet:
            assert anet.cli.waiting == 0     # the server's accept task is the one waiter
        later["send"].set()
        assert await r.readexactly(4) == b"late"
        w.close()
        await w.wait_closed()
        server.close()
        await server.wait_closed()
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_cancelled_serve_forever_closes_the_server(anet):
    async def main():
        server = await anet.srv.start_server(echo, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        assert server.is_serving()
        if anet.barenet:
            await asyncio.sleep(0)
            assert anet.srv.waiting == 1     # the accept task
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(server.serve_forever(), 0.1)
        assert not server.is_serving()
        await server.wait_closed()
        if anet.barenet:
            await asyncio.sleep(0)
            assert anet.srv.waiting == 0
        with pytest.raises(ConnectionRefusedError):
            await anet.cli.open_connection(anet.srv_ip, port)
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_cancelled_connect_leaves_nothing_behind(anet):
    async def main():
        server = await anet.srv.start_server(echo, anet.srv_ip, 0)
        port = server.sockets[0].getsockname()[1]
        t = asyncio.create_task(anet.cli.open_connection(anet.srv_ip, port))
        await asyncio.sleep(0)       # the connect has started: its SYN is on its way
        if anet.barenet:
            assert anet.cli.waiting == 1
            assert len(anet.stacks[1].tcp.connections()) == 1
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        if anet.barenet:
            assert anet.cli.waiting == 0
            # the half-open connection went with the cancelled call (RFC 9293 3.10.4:
            # CLOSE in SYN-SENT deletes the TCB)
            assert anet.stacks[1].tcp.connections() == []
        r, w = await anet.cli.open_connection(anet.srv_ip, port)
        w.write(b"still works")
        assert await r.readexactly(11) == b"still works"
        w.close()
        await w.wait_closed()
        server.close()
        await server.wait_closed()
    anet.run(main())
    assert anet.waiting() in (None, 0)
