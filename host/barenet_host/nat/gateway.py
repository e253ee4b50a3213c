"""The NAT gateway: a transparent barenet Stack on the board link (IP.transparent, the
transports' catch_all hooks) whose flows to other addresses are carried by host sockets on
the Runner, recorded in the NAT table (table.py) and limited by the allow-list (allow.py).

    gw = Gateway(stack, runner, board_ip, AllowList(cidrs), NATTable(4096))
    gw.add_forward(forward.parse("tcp:127.0.0.1:8080=80"))
    gw.info(now)          # `barenet ctl nat`: the table and the counters, JSON-able

A denied destination gets a RST (TCP) or ICMP administratively prohibited (RFC 1812
5.2.7.1); a full table refuses new flows (RST, or the datagram dropped), counted in both cases.
"""

from barenet.addr import ip_ntoa
from barenet.tcp import Listener
from barenet.tcp.state import ACK, RST, SYN
from barenet.wire import icmp as icmpw

from ..runner import accept_backoff
from . import forward as fwdmod
from .flow import UNREACH
from .icmp import ICMPFlow
from .tcp import TCPFlow, host_socket, reset
from .udp import UDPFlow


class Gateway:
    def __init__(self, stack, runner, board_ip, allow, table, pings=True):
        self.stack = stack
        self.runner = runner
        self.board_ip = board_ip
        self.allow = allow
        self.table = table
        self.pings = pings            # ICMP sockets allowed (icmp.available())
        self.forwards = []
        self.stats = {}
        # The board's SYNs to other addresses are answered by this listener, which no port
        # holds, once the host side connected (tcp.py)
        self.listener = Listener(stack.tcp, 0, None, table.max_flows, table.max_flows)
        stack.ip.transparent = True
        stack.tcp.catch_all = self._tcp
        stack.udp.catch_all = self._udp
        stack.icmp.catch_all = self._echo
        runner.add_task(self.poll)

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1

    # -- the board's new flows (the hooks) --------------------------------------------------

    def _tcp(self, iface, ip, seg, now):
        if seg.flags & (SYN | ACK | RST) != SYN:
            return None                   # no connection of ours: a closed port's RST
        key = ("tcp", ip.src, seg.sport, ip.dst, seg.dport)
        flow = self.table.get(key)
        if flow is not None:
            if flow.conn is None:
                return flow.verdict       # held, answered, or refused (tcp.py)
            # A new SYN on the 4-tuple of a connection gone from the stack: a new flow
            flow.close("reset")
            self.table.remove(flow)
        if not self.allow.allows(ip.dst):
            self.count("denied_tcp")
            return None
        if not self.table.room():
            return None
        try:
            sock = host_socket()
        except OSError:
            self.count("tcp_host_socket_failed")    # EMFILE: out of descriptors; a RST
            return None
        flow = TCPFlow(self, key, sock, now)
        self.table.add(flow)
        self.count("tcp_out")
        flow.connect((ip_ntoa(ip.dst), seg.dport), iface, bytes(ip.datagram))
        return True

    def _udp(self, h, sport, dport, data, now):
        flow = self._flow(("udp", h.src, sport, h.dst, dport), h, UDPFlow, now)
        if flow is not None:
            flow.from_board(h, data, now)

    def _echo(self, h, rest, body, now):
        if not self.pings:
            self.count("icmp_drop_no_sockets")
            return
        flow = self._flow(("icmp", h.src, rest >> 16, h.dst, 0), h, ICMPFlow, now)
        if flow is not None:
            flow.from_board(rest, body, now)

    def _flow(self, key, h, cls, now):
        """The datagram flow for key: the table's, or a new one if the allow-list and the
        table's bound let it be; None when not."""
        flow = self.table.get(key)
        if flow is not None:
            return flow
        proto = key[0]
        if not self.allow.allows(key[3]):
            self.count("denied_" + proto)
            self.stack.icmp.send_error(icmpw.DEST_UNREACH, icmpw.ADMIN_PROHIBITED, h.datagram,
                                       False, now)
            return None
        if not self.table.room():
            return None
        try:
            flow = cls(self, key, now)
        except OSError as e:
            self.count(proto + "_host_socket_failed")
            code = UNREACH.get(e.errno)    # connect(): no route from the host
            if code is not None:
                self.stack.icmp.send_error(icmpw.DEST_UNREACH, code, h.datagram, False, now)
            return None
        self.table.add(flow)
        self.count(proto + "_out")
        return flow

    # -- forwards (inbound) -----------------------------------------------------------------

    def add_forward(self, fwd):
        """Listen for fwd (forward.py); OSError when its host port is busy."""
        s = fwdmod.listen(fwd)
        self.forwards.append(fwd)
        on_ready = self._accept if fwd.proto == "tcp" else self._datagram_in
        self.runner.add_fd(s.fileno(), lambda now: on_ready(fwd, now))

    def _datagram_in(self, fwd, now):
        for _ in range(fwdmod.BURST):
            try:
                data, peer = fwd.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue             # an ICMP error about an answer to a peer that left
            flow = fwd.peers.get(peer)
            if flow is None:
                if not self.table.room():
                    continue
                try:
                    flow = fwdmod.InboundUDPFlow(self, fwd, peer, now)
                except OSError:
                    self.count("udp_host_socket_failed")    # the gateway's ports ran out
                    continue
                fwd.peers[peer] = flow
                self.table.add(flow)
                self.count("udp_in")
            flow.from_host(data, now)

    def _accept(self, fwd, now):
        while True:
            try:
                sock, _ = fwd.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if accept_backoff(self.runner, fwd.sock, e):
                    self.count("forward_accept_no_fds")
                    return
                continue                  # ECONNABORTED, say: that client left the queue
            sock.setblocking(False)
            if not self.table.room():
                reset(sock)
                continue
            try:
                conn = self.stack.tcp.connect(self.board_ip, fwd.board_port)
            except OSError:
                self.count("forward_failed")
                reset(sock)
                continue
            key = ("tcp", conn.rip, conn.rport, conn.lip, conn.lport)
            flow = TCPFlow(self, key, sock, now, inbound=True)
            self.table.add(flow)
            self.count("tcp_in")
            flow.attach(conn, now)

    # -- every loop step --------------------------------------------------------------------

    def poll(self, now):
        """A runner task: the board connections the listener completed join their flows,
        every TCP flow moves what it can, idle flows expire."""
        while True:
            c = self.listener.accept()
            if c is None:
                break
            flow = self.table.get(("tcp", c.rip, c.rport, c.lip, c.lport))
            if flow is None or flow.conn is not None:
                c.abort()                 # its flow expired while the handshake went on
                continue
            flow.attach(c, now)
        # Flows with work every step (TCP splices, answers to UDP forwards' peers); the
        # outbound datagram flows are driven by their host sockets' fds alone
        for flow in [f for f in self.table.flows.values() if hasattr(f, "pump")]:
            flow.pump(now)
        return self.table.expire(now)

    def buffered(self):
        """Bytes the gateway holds for its flows (the board connections' buffers)."""
        return sum(f.row()["buffered"] for f in self.table.flows.values())

    def info(self, now):
        """`barenet ctl nat`'s reply: the table's rows, its limit and use, the counters."""
        t = self.table
        return {"nat": {"board": ip_ntoa(self.board_ip), "allow": self.allow.describe(),
                        "forwards": [f.text for f in self.forwards],
                        "pings": self.pings, "timeouts_ms": dict(t.timeouts)},
                "table": {"used": len(t.flows), "limit": t.max_flows,
                          "tcp": t.count("tcp"), "udp": t.count("udp"),
                          "icmp": t.count("icmp"), "buffered": self.buffered()},
                "stats": dict(self.stats, **t.stats),
                "flows": t.rows(now)}

    def close(self):
        for flow in list(self.table.flows.values()):
            flow.close("reset")
        self.table.flows.clear()
        for fwd in self.forwards:
            self.runner.remove_fd(fwd.sock.fileno())
            fwd.sock.close()
        self.forwards = []
