"""Stack: owns the interfaces and protocol layers, takes frames and time in, sends frames out.

The stack is sans-I/O: a runner hands it each received frame with `input(iface, frame, now_ms)`
and calls `poll(now_ms)` after every burst of frames and whenever the returned wait has passed.
The poll after a burst matters: that is where TCP sends the one ACK (and window update) that
covers all the in-order data of the burst, as Linux does per GRO batch. Every limit is a keyword
argument with its default here.
"""

from . import ticks
from .compat import const
from .iface import Interface
from .icmp import ICMP
from .ip import IP
from .neighbor import ARPCache
from .stats import inc
from .tcp import TCP
from .udp import UDP
from .wire import ethernet

_ETH_HLEN = const(14)


class Stack:
    def __init__(self, seed=0, ttl=64,
                 arp_size=16, arp_ttl_ms=60000, arp_pending=8, arp_queue_bytes=16384, arp_retries=3,
                 arp_retry_ms=1000,
                 reasm_datagrams=8, reasm_bytes=65536, reasm_timeout_ms=30000, loop_queue=64,
                 icmp_error_burst=10, icmp_error_interval_ms=100, echo_queue=8,
                 udp_queue=8, udp_endpoints=16, tcp=None):
        # tcp: a dict of TCP limits (buffer sizes, timers, ...; see barenet.tcp.TCP).
        self.seed = seed
        self.now = 0
        self.interfaces = []
        self.eth_stats = {}
        self.last_error = None
        self.arp = ARPCache(self._arp_failed, arp_size, arp_ttl_ms, arp_pending, arp_queue_bytes,
                            arp_retries, arp_retry_ms)
        self.ip = IP(self, ttl, loop_queue, reasm_datagrams, reasm_bytes, reasm_timeout_ms, seed)
        self.icmp = ICMP(self, icmp_error_burst, icmp_error_interval_ms, echo_queue)
        self.udp = UDP(self, udp_queue, udp_endpoints)
        self.tcp = TCP(self, **(tcp or {}))
        self.ip.register(1, self.icmp)
        self.ip.register(6, self.tcp)
        self.ip.register(17, self.udp)

    def add_interface(self, nic, mac, ip, gateway=None, mtu=1500, now_ms=None, name=None):
        """Bring up a NIC with a static address; announces it with a gratuitous ARP."""
        if now_ms is not None:
            self.now = now_ms
        iface = Interface(nic, mac, ip, gateway, mtu, name or "eth%d" % len(self.interfaces))
        self.interfaces.append(iface)
        self.arp.announce(iface)
        return iface

    def input(self, iface, frame, now_ms):
        """Process one received Ethernet frame. Never raises: bad input is counted and dropped."""
        self.now = now_ms
        try:
            self._input(iface, memoryview(frame), now_ms)
        except Exception as e:  # our bug, not the peer's: count it, keep it for debugging
            inc(self.eth_stats, "drop_internal_error")
            self.last_error = e

    def _input(self, iface, frame, now):
        st = self.eth_stats
        try:
            dst, _, etype, payload = ethernet.parse(frame)
        except ValueError as e:
            inc(st, "drop_" + e.args[0])
            return
        inc(st, "rx")
        inc(iface.stats, "rx")
        # Accept frames for our MAC and broadcast; no multicast groups are joined.
        if dst != iface.mac and dst != b"\xff\xff\xff\xff\xff\xff":
            inc(st, "drop_not_for_us")
            return
        if etype == ethernet.TYPE_IPV4:
            self.ip.input(iface, payload, now)
        elif etype == ethernet.TYPE_ARP:
            self.arp.input(iface, payload, now, self.ip.send_resolved)
        else:
            inc(st, "drop_ethertype")

    def _arp_failed(self, iface, datagram):
        self.ip.resolution_failed(iface, datagram)

    def poll(self, now_ms):
        """Run due timers and deliver loopback traffic; -> ms until the next timer, or None."""
        self.now = now_ms
        wait = self.ip.poll(now_ms)
        wait = ticks.earliest(wait, self.arp.poll(now_ms))
        for h in self.ip.handlers.values():
            wait = ticks.earliest(wait, h.poll(now_ms))
        return wait

    @property
    def stats(self):
        """Counters per layer and per interface: {"eth": {...}, "arp": {...}, "ip": {...},
        ..., "if_eth0": {...}} (copies)."""
        out = {"eth": dict(self.eth_stats), "arp": dict(self.arp.stats),
               "ip": dict(self.ip.stats), "icmp": dict(self.icmp.stats),
               "udp": dict(self.udp.stats), "tcp": dict(self.tcp.stats),
               "loopback": dict(self.ip.loopback.stats)}
        for i in self.interfaces:
            out["if_" + i.name] = dict(i.stats)
        return out
