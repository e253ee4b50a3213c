"""Same tests, two targets, for asyncio (issue 9 item 6): every test here takes `anet` and runs
twice, against CPython's own asyncio streams on 127.0.0.1 (the reference) and against
barenet.aio (a server stack and a client stack on a virtual wire, stepped by aio's pump task
through SimDriver.astep). A test writes its coroutine once; both targets must give the same.

    anet.srv, anet.cli     open_connection / start_server / open_datagram of each side
    anet.srv_sockets       the server side's socket module (a plain listener for a test)
    anet.srv_ip, anet.cli_ip
    anet.run(coro)         asyncio.run with an overall bound (real seconds)
    anet.waiting()         barenet: tasks parked on endpoints now (None on CPython)
    anet.sleep(s)          let s seconds of the network's time pass: real ones on CPython, the
                           simulator's on barenet (aio's pump moves the virtual clock while a
                           task waits on barenet, so a real-time sleep there would let minutes
                           of network time pass)
    anet.barenet, anet.stacks
"""

import asyncio
import socket as _pysocket

import pytest

from barenet import aio
from barenet.socket import Sockets
from barenet_host.vwire import Sim, SimDriver

RUN_S = 60


class KernelDatagram:
    """The reference for aio.Datagram: the same interface over a kernel UDP socket."""

    def __init__(self, sock):
        self._s = sock

    async def recvfrom(self, n=65535):
        return await asyncio.get_running_loop().sock_recvfrom(self._s, n)

    def sendto(self, data, addr=None):
        return self._s.send(data) if addr is None else self._s.sendto(data, addr)

    def close(self):
        self._s.close()

    def get_extra_info(self, name, default=None):
        return self._s.getsockname() if name == "sockname" else default


class KernelNet:
    open_connection = staticmethod(asyncio.open_connection)
    start_server = staticmethod(asyncio.start_server)

    async def open_datagram(self, local_addr=None, remote_addr=None):
        s = _pysocket.socket(_pysocket.AF_INET, _pysocket.SOCK_DGRAM)
        s.setblocking(False)
        s.bind(local_addr or ("", 0))
        if remote_addr is not None:
            s.connect(remote_addr)
        return KernelDatagram(s)


def _run(coro):
    async def bounded():
        return await asyncio.wait_for(coro, RUN_S)
    return asyncio.run(bounded())


class CPythonTarget:
    barenet = False
    srv_ip = cli_ip = "127.0.0.1"
    stacks = ()
    srv_sockets = _pysocket

    def __init__(self):
        self.srv = self.cli = KernelNet()

    run = staticmethod(_run)

    def waiting(self):
        return None

    sleep = staticmethod(asyncio.sleep)


class BarenetTarget:
    barenet = True
    srv_ip = "192.0.2.1"
    cli_ip = "192.0.2.2"

    def __init__(self, driver=SimDriver):
        self.sim = sim = Sim(start_ms=(1 << 30) - 5000)   # cross the tick wrap in the tests
        wire = sim.wire()
        a, _ = sim.host(wire, "02:00:00:00:00:01", self.srv_ip + "/24", profile="host")
        b, _ = sim.host(wire, "02:00:00:00:00:02", self.cli_ip + "/24", profile="host")
        drv = driver(sim)
        self.stacks = (a, b)
        self.srv_sockets = Sockets(a, drv)
        self.srv = aio.Net(self.srv_sockets)
        self.cli = aio.Net(Sockets(b, drv))

    run = staticmethod(_run)

    def waiting(self):
        return self.srv.waiting + self.cli.waiting

    async def sleep(self, s):
        sim = self.sim
        end = sim.ms + int(s * 1000)
        for _ in range(100000):         # bounded: an idle simulator has no clock to move
            if sim.ms >= end:
                return
            await asyncio.sleep(0.0001)
        raise AssertionError("the virtual clock did not move")


@pytest.fixture(params=["cpython", "barenet"])
def anet(request):
    yield CPythonTarget() if request.param == "cpython" else BarenetTarget()
