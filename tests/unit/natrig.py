"""A NAT gateway and a board stack on one host Runner, joined by an AF_UNIX datagram pair (an
ip link, as SLIP's): the gateway's host sockets are real ones, on 127.0.0.1 only (forwards;
tests of outbound flows to test hosts run in a netns, tests/interop/test_bridge_nat.py)."""

import socket

from barenet.loop import Loop
from barenet.stack import Stack

from barenet_host.nat.allow import AllowList
from barenet_host.nat.gateway import Gateway
from barenet_host.nat.table import NATTable
from barenet_host.runner import Runner

GW, BOARD = "192.0.2.1", "192.0.2.15"


class DgramNIC:
    """One end of a socketpair(AF_UNIX, SOCK_DGRAM): one datagram per frame."""

    link = "ip"
    mtu = 1500

    def __init__(self, sock):
        sock.setblocking(False)
        self.sock = sock
        self.dropped = 0

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame):
        try:
            self.sock.send(frame)
        except BlockingIOError:
            self.dropped += 1     # a full link loses the frame, as a wire would

    def recv_into(self, buf):
        try:
            return self.sock.recv_into(buf)
        except BlockingIOError:
            return 0


class Rig:
    def __init__(self, allow=(), max_flows=64, timeouts=None, pings=False, board_kw=None,
                 gw_kw=None):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        for s in (a, b):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.gw_nic, self.board_nic = DgramNIC(a), DgramNIC(b)
        self.gw_stack = Stack("host", syncookies=False, **(gw_kw or {}))
        self.gw_stack.add_interface(self.gw_nic, ip=GW + "/24")
        self.board = Stack("host", seed=7, **(board_kw or {}))
        self.board.add_interface(self.board_nic, ip=BOARD + "/24", gateway=GW)
        self.runner = Runner(self.gw_stack)
        self.table = NATTable(max_flows, timeouts)
        self.gw = Gateway(self.gw_stack, self.runner, bytes([192, 0, 2, 15]), AllowList(allow),
                          self.table, pings=pings)
        loop = Loop(self.board)
        self.runner.add_task(loop.step)      # the board steps with the gateway, same clock
        self.runner.add_fd(self.board_nic.fileno(), lambda now: None)

    def run(self, until, timeout_s=20):
        return self.runner.run(until=until, timeout_s=timeout_s)

    def close(self):
        self.gw.close()
        self.runner.close()
        self.gw_nic.sock.close()
        self.board_nic.sock.close()
