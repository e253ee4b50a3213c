"""Datagram endpoints (aio.open_datagram), the same coroutines against a kernel UDP socket on
127.0.0.1 (conftest.KernelDatagram, over loop.sock_recvfrom) and barenet.aio on a virtual
wire: an echo, a connected endpoint's ICMP error, a timed-out recvfrom that loses nothing.
And, barenet only, the pump of a driver that has no astep (a board's: polled)."""

import asyncio
import errno

import pytest

from conftest import BarenetTarget


async def udp_echo(ep, count):
    for _ in range(count):
        data, addr = await ep.recvfrom()
        ep.sendto(data.upper(), addr)


def test_datagram_echo(anet):
    async def main():
        srv = await anet.srv.open_datagram(local_addr=(anet.srv_ip, 0))
        port = srv.get_extra_info("sockname")[1]
        t = asyncio.create_task(udp_echo(srv, 3))
        cli = await anet.cli.open_datagram(remote_addr=(anet.srv_ip, port))
        got = []
        for m in (b"one", b"two", b"x" * 1400):
            cli.sendto(m)
            got.append(await cli.recvfrom())
        assert got == [(m.upper(), (anet.srv_ip, port)) for m in (b"one", b"two", b"x" * 1400)]
        await t
        cli.close()
        srv.close()
    anet.run(main())
    assert anet.waiting() in (None, 0)


def test_connected_endpoint_reports_port_unreachable(anet):
    async def main():
        probe = await anet.srv.open_datagram(local_addr=(anet.srv_ip, 0))
        port = probe.get_extra_info("sockname")[1]
        probe.close()                    # nothing listens there now
        cli = await anet.cli.open_datagram(remote_addr=(anet.srv_ip, port))
        cli.sendto(b"anyone?")
        with pytest.raises(ConnectionRefusedError) as e:
            await asyncio.wait_for(cli.recvfrom(), 5)
        assert e.value.errno == errno.ECONNREFUSED
        cli.close()
    anet.run(main())


def test_recvfrom_timeout_leaves_no_waiter_and_loses_no_datagram(anet):
    async def main():
        srv = await anet.srv.open_datagram(local_addr=(anet.srv_ip, 0))
        port = srv.get_extra_info("sockname")[1]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(srv.recvfrom(), 0.1)
        if anet.barenet:
            assert anet.srv.waiting == 0
        cli = await anet.cli.open_datagram()
        cli.sendto(b"after", (anet.srv_ip, port))
        data, addr = await asyncio.wait_for(srv.recvfrom(), 5)
        assert data == b"after" and addr[0] == anet.cli_ip
        cli.close()
        srv.close()
    anet.run(main())
    assert anet.waiting() in (None, 0)


class StepOnlyDriver:
    """A driver with the socket layer's interface only (now, step), as a board's may be:
    aio's pump then steps it every POLL_MS, or at once when a call gives it work."""

    def __init__(self, sim):
        from barenet_host.vwire import SimDriver
        self._d = SimDriver(sim)
        self.now = self._d.now
        self.step = self._d.step


def test_a_driver_without_astep_is_polled():
    net = BarenetTarget(StepOnlyDriver)

    async def echo(reader, writer):
        writer.write(await reader.readexactly(5))
        await writer.drain()
        writer.close()

    async def main():
        server = await net.srv.start_server(echo, net.srv_ip, 7)
        r, w = await net.cli.open_connection(net.srv_ip, 7)
        w.write(b"hello")
        assert await r.readexactly(5) == b"hello"
        assert await r.read() == b""
        w.close()
        server.close()
        await server.wait_closed()
    net.run(main())
    assert net.waiting() == 0
