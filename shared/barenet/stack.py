"""Stack: owns the interfaces and protocol layers, takes frames and time in, sends frames out.

The stack is sans-I/O: a runner hands it each received frame with `input(iface, frame, now_ms)`
and calls `poll(now_ms)` after every burst of frames and whenever the returned wait has passed.
The poll after a burst matters: that is where TCP sends the one ACK (and window update) that
covers all the in-order data of the burst, as Linux does per GRO batch. `loop.Loop` is that
runner step, shared by the host, the simulator and the boards.

Every tunable comes from a `config.Config`: `Stack("board")`, `Stack("host", sndbuf=65536)`.
"""

from . import ticks
from .addr import ANY
from .config import Config
from .iface import EthernetInterface, IPInterface
from .icmp import ICMP
from .ip import IP
from .nic import ETHERNET, IP as IP_LINK
from .rand import Rand
from .raw import Raw
from .stats import inc
from .tcp import TCP
from .udp import UDP


class Stack:
    def __init__(self, profile="board", **overrides):
        self.cfg = Config(profile, **overrides)
        self.now = 0                 # the time of the last input() or poll()
        self.interfaces = []
        self.eth_stats = {}          # Ethernet and ARP counters, summed over the interfaces
        self.arp_stats = {}
        self.stack_stats = {}
        self.apps = {}               # name -> a service on the stack (apps/): its counters, its limits
        self.services = []           # what the stack polls besides its layers (dns.Resolver)
        self.resolver = None         # the stack's DNS resolver (dns.py), once made
        self.last_error = None
        self.rng = Rand(self.cfg.seed)   # jitter and ids (DHCP, DNS): repeatable per seed
        self.ip = IP(self)
        self.icmp = ICMP(self)
        self.udp = UDP(self)
        self.tcp = TCP(self)
        self.raw = Raw(self)
        self._local = None           # AF_UNIX endpoints: self.local
        self.ip.register(1, self.icmp)
        self.ip.register(6, self.tcp)
        self.ip.register(17, self.udp)

    def add_interface(self, nic, mac=None, ip=None, gateway=None, mtu=None, link=None,
                      now_ms=None, name=None):
        """Bring up a NIC. Link type, MTU and MAC default to the NIC's own facts (nic.py):
        `link` "ethernet" (a MAC is then required) or "ip". With `ip` ("192.0.2.2/24") the
        interface is configured at once and announces itself (gratuitous ARP); without, it
        starts unconfigured (see Interface.configure)."""
        if now_ms is not None:
            self.now = now_ms
        if link is None:
            link = getattr(nic, "link", ETHERNET)
        if mtu is None:
            mtu = getattr(nic, "mtu", 1500)
        name = name or "%s%d" % ("eth" if link == ETHERNET else "ip", len(self.interfaces))
        if link == ETHERNET:
            if mac is None:
                mac = getattr(nic, "mac", None)
            if mac is None:
                raise ValueError("an ethernet interface needs a MAC address")
            iface = EthernetInterface(self, nic, mac, mtu, name)
        elif link == IP_LINK:
            iface = IPInterface(self, nic, mtu, name)
        else:
            raise ValueError("unknown link type %r (want %r or %r)" % (link, ETHERNET, IP_LINK))
        self.interfaces.append(iface)
        if ip is not None:
            iface.configure(ip, gateway=gateway)
        return iface

    def address_changed(self, iface, old):
        """Interface.configure changed iface's address from old: tell the layers."""
        new = iface.ip
        # From unconfigured (0.0.0.0, before DHCP) nothing was bound to the old address:
        # endpoints bound to any address (the DHCP client's own) stay so
        if new != old and old != ANY:
            self.udp.address_changed(old, new)
            self.tcp.address_changed(old, new)
            self.raw.address_changed(old, new)
        iface.announce()

    def set_link(self, iface, up, now_ms):
        """The NIC reported its carrier (the loop step does this). Going down flushes the
        interface's neighbours and makes TCP take its timeouts as soft errors; coming back
        announces the address again and lets TCP retransmit at once (see TCP.link_changed)."""
        if not iface.set_link(up):
            return
        self.now = now_ms
        if up:
            iface.announce()
        elif iface.link == ETHERNET:
            iface.arp.flush()
        self.tcp.link_changed(iface, up, now_ms)

    def input(self, iface, frame, now_ms):
        """Process one received frame. Never raises: bad input is counted and dropped."""
        self.now = now_ms
        try:
            iface.receive(memoryview(frame), now_ms)
        except Exception as e:  # our bug, not the peer's: count it, keep it for debugging
            inc(self.stack_stats, "drop_internal_error")
            self.last_error = e

    def poll(self, now_ms):
        """Run due timers and deliver loopback traffic; -> ms until the next timer, or None."""
        self.now = now_ms
        wait = self.ip.poll(now_ms)
        for i in self.interfaces:
            wait = ticks.earliest(wait, i.poll(now_ms))
        # Services before the protocols: what they start (the resolver's TCP connection, its
        # FIN) goes out with this poll, not the next
        for s in self.services:
            wait = ticks.earliest(wait, s.poll(now_ms))
        for h in self.ip.handler_list:
            wait = ticks.earliest(wait, h.poll(now_ms))
        return wait

    def pending(self):
        """True when work waits for the next poll (what user calls queued, datagrams to
        ourselves): a runner that lets user code run between its steps, as an asyncio loop
        or the simulator's world does, must then step again at once."""
        return self.tcp.pending() or self.ip.pending()

    def limits(self):
        """{name: {"limit": n, "used": m}} for every bounded table, read from the objects
        that enforce them (the status page and `barenet ctl stats` show it). One line each:
        a table with a new bound adds its own here."""
        out = {}
        ip = self.ip
        r = ip.reasm
        tcp = self.tcp
        udp = self.udp
        _limit(out, "tcp_connections", tcp.cfg.max_connections, len(tcp.conns))
        _limit(out, "tcp_time_wait", tcp.time_wait.max, tcp.time_wait_count())
        _limit(out, "tcp_listeners", tcp.cfg.max_listeners, len(tcp.listeners))
        for port, lst in tcp.listeners.items():
            _limit(out, "tcp_syn_queue:%d" % port, lst.syn_backlog, len(lst.syn_queue))
            _limit(out, "tcp_accept_queue:%d" % port, lst.backlog, len(lst.queue))
        _limit(out, "udp_endpoints", udp.max_endpoints, len(udp.endpoints))
        for port, ep in udp.endpoints.items():
            _limit(out, "udp_queue:%d" % port, ep.queue_len, len(ep._q))
        lo = self._local                 # (None until the first AF_UNIX endpoint)
        _limit(out, "local_endpoints", self.cfg.local_endpoints, 0 if lo is None else lo.count)
        if lo is not None:
            for name, limit, used in lo.tables():
                _limit(out, name, limit, used)
        for ident, ep in self.icmp.echo.items():
            _limit(out, "icmp_echo_queue:%d" % ident, ep.queue_len, len(ep._q))
        raw = self.raw
        _limit(out, "raw_endpoints", raw.max_endpoints, raw.count)
        for n, ep in enumerate(raw.endpoints()):
            _limit(out, "raw_queue:%d.%d" % (ep.proto, n), ep.queue_len, len(ep._q))
        _limit(out, "icmp_error_dests", self.icmp.dest_table, len(self.icmp.dests))
        _limit(out, "reasm_datagrams", r.max_datagrams, len(r.pending))
        _limit(out, "reasm_bytes", r.max_bytes, r.bytes)
        _limit(out, "loop_queue", ip.loop_queue, len(ip._loop))
        for i in self.interfaces:
            a = getattr(i, "arp", None)
            if a is not None:
                _limit(out, "arp_cache:" + i.name, a.size, len(a.entries))
                _limit(out, "arp_pending:" + i.name, a.pending_addrs, len(a.pending))
        r = self.resolver
        if r is not None:
            _limit(out, "dns_cache", r.cache_size, len(r.cache))
            _limit(out, "dns_inflight", r.max_inflight, len(r.inflight))
        for name, app in self.apps.items():
            if hasattr(app, "conns"):    # TCP apps; a UDP one (discovery) holds no connections
                _limit(out, "app_conns:" + name, app.max_conns, len(app.conns))
        return out

    @property
    def local(self):
        """AF_UNIX endpoints (local.py): never registered with IP, no timers. Made, and its
        module imported, on first use, as most boards never have one."""
        if self._local is None:
            from .local import Local
            self._local = Local(self)
        return self._local

    @property
    def stats(self):
        """Counters per layer and per interface: {"eth": {...}, "arp": {...}, "ip": {...},
        ..., "if_eth0": {...}, "app_echo7": {...}} (copies)."""
        out = {"stack": dict(self.stack_stats), "eth": dict(self.eth_stats),
               "arp": dict(self.arp_stats), "ip": dict(self.ip.stats),
               "icmp": dict(self.icmp.stats), "udp": dict(self.udp.stats),
               "tcp": dict(self.tcp.stats), "raw": dict(self.raw.stats),
               "loopback": dict(self.ip.loopback.stats),
               "local": {} if self._local is None else dict(self._local.stats)}
        for i in self.interfaces:
            out["if_" + i.name] = dict(i.stats)
        for name, app in self.apps.items():
            out["app_" + name] = dict(app.stats)
        return out


def _limit(out, name, limit, used):
    out[name] = {"limit": limit, "used": used}
