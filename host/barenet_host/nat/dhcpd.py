"""The NAT gateway's DHCP server (RFC 2131 4.3): one pool on the gateway stack's UDP port 67,
for the board behind the bridge (issue 10 item 5). Router and DNS server are the gateway.

Replies go out as IP broadcasts (RFC 2131 4.1 allows it where unicast to a client without an
address is not possible: the gateway's stack cannot ARP for it), or unicast to ciaddr when the
client has one (renewing). Leases live in memory only; the bridge is restarted with the board.

    srv = DHCPServer(stack, "192.0.2.100", "192.0.2.150", lease_s=3600)
    runner.add_task(srv.poll)
"""

from barenet import ticks
from barenet.addr import ANY, LIMITED_BROADCAST, ip_aton, ip_ntoa, prefix_mask
from barenet.stats import inc
from barenet.wire import Malformed, dhcp as w

_OFFER_HOLD_MS = 30000      # an offered address is kept for its client this long
_DECLINED_MS = 600000       # a declined address rests (someone else holds it), RFC 2131 4.3.3


class DHCPServer:
    """A lease is [client key, address, expiry ms]; the key is option 61 or the chaddr
    (RFC 2131 4.2). `leases()` lists the bound ones."""

    def __init__(self, stack, pool_start, pool_end, lease_s=3600, router=None, dns=None,
                 server_ip=None, prefix=None, max_leases=256):
        self.stack = stack
        iface = stack.interfaces[0]
        self.server_ip = ip_aton(server_ip) if server_ip else iface.ip
        if self.server_ip == ANY:
            raise ValueError("the DHCP server needs a configured address")
        self.prefix = iface.prefix if prefix is None else prefix
        lo = int.from_bytes(ip_aton(pool_start), "big")
        hi = int.from_bytes(ip_aton(pool_end), "big")
        if hi < lo:
            raise ValueError("pool end before its start")
        self.pool = [(lo + i).to_bytes(4, "big") for i in range(min(hi - lo + 1, max_leases))]
        self.lease_s = lease_s
        self.router = ip_aton(router) if router else self.server_ip
        self.dns = ip_aton(dns) if dns else self.server_ip
        self.by_client = {}     # key -> [address, expiry ms, bound]
        self.by_addr = {}       # address -> key
        self.declined = {}      # address -> until ms
        self.stats = {}
        self.ep = stack.udp.bind(w.SERVER_PORT, queue=16)

    def leases(self):
        """[(client key hex, address, bound)] for the status and the tests."""
        return [(k.hex(), ip_ntoa(v[0]), v[2]) for k, v in self.by_client.items()]

    def poll(self, now):
        ep = self.ep
        for _ in range(16):
            try:
                got = ep.recvfrom()
            except OSError:
                continue    # an ICMP error about an earlier reply
            if got is None:
                break
            try:
                m = w.parse(got[0])
            except Malformed as e:
                inc(self.stats, "drop_" + e.args[0])
                continue
            if m.op != w.BOOTREQUEST:
                inc(self.stats, "drop_op")
                continue
            self._handle(m, now)
        else:
            return 0
        return None

    # -- the table ---------------------------------------------------------------------------

    def _key(self, m):
        cid = m.options.get(w.OPT_CLIENT_ID)
        return cid if cid else bytes([m.htype]) + m.chaddr

    def _live(self, addr, now):
        key = self.by_addr.get(addr)
        if key is None:
            return None
        e = self.by_client[key]
        if ticks.due(e[1], now):
            del self.by_client[key]
            del self.by_addr[addr]
            return None
        return key

    def _free(self, addr, key, now):
        until = self.declined.get(addr)
        if until is not None:
            if not ticks.due(until, now):
                return False
            del self.declined[addr]
        owner = self._live(addr, now)
        return owner is None or owner == key

    def _pick(self, m, key, now):
        """The client's own address, else the one it asks for, else the first free one
        (RFC 2131 4.3.1's order)."""
        e = self.by_client.get(key)
        if e is not None and e[0] in self.pool and self._free(e[0], key, now):
            return e[0]
        want = m.addr(w.OPT_REQUESTED_IP)
        if want in self.pool and self._free(want, key, now):
            return want
        for a in self.pool:
            if self._free(a, key, now):
                return a
        return None

    def _hold(self, key, addr, ms, bound, now):
        old = self.by_client.get(key)
        if old is not None and old[0] != addr:
            self.by_addr.pop(old[0], None)
        self.by_client[key] = [addr, ticks.add(now, ms), bound]
        self.by_addr[addr] = key

    def _drop(self, key):
        e = self.by_client.pop(key, None)
        if e is not None:
            self.by_addr.pop(e[0], None)

    # -- messages ----------------------------------------------------------------------------

    def _handle(self, m, now):
        t = m.type
        key = self._key(m)
        inc(self.stats, "rx_%d" % (t or 0))
        if t == w.DISCOVER:
            addr = self._pick(m, key, now)
            if addr is None:
                inc(self.stats, "pool_exhausted")
                return
            e = self.by_client.get(key)
            if e is None or not e[2] or e[0] != addr:   # a bound lease stays bound
                self._hold(key, addr, _OFFER_HOLD_MS, False, now)
            self._reply(m, w.OFFER, addr)
        elif t == w.REQUEST:
            self._request(m, key, now)
        elif t == w.DECLINE:
            addr = m.addr(w.OPT_REQUESTED_IP)
            if m.addr(w.OPT_SERVER_ID) == self.server_ip and addr in self.pool:
                self._drop(key)
                self.declined[addr] = ticks.add(now, _DECLINED_MS)
        elif t == w.RELEASE:
            e = self.by_client.get(key)
            if e is not None and e[0] == m.ciaddr:
                self._drop(key)
        elif t == w.INFORM:
            self._reply(m, w.ACK, ANY, lease=False)
        else:
            inc(self.stats, "drop_type")

    def _request(self, m, key, now):
        sid = m.addr(w.OPT_SERVER_ID)
        if sid is not None and sid != self.server_ip:
            # RFC 2131 4.3.2: the client chose another server; our offer is free again
            e = self.by_client.get(key)
            if e is not None and not e[2]:
                self._drop(key)
            return
        # SELECTING and INIT-REBOOT name the address in option 50; RENEWING and REBINDING
        # in ciaddr (RFC 2131 4.3.2)
        addr = m.addr(w.OPT_REQUESTED_IP) or m.ciaddr
        e = self.by_client.get(key)
        ok = addr in self.pool and self._free(addr, key, now) and \
            (e is None or e[0] == addr or sid is None)
        if not ok:
            if e is None and sid is None and addr not in self.pool and m.ciaddr != ANY:
                return  # RFC 2131 4.3.2: not ours to answer for (another server's lease)
            self._reply(m, w.NAK, ANY, lease=False)
            return
        self._hold(key, addr, self.lease_s * 1000, True, now)
        inc(self.stats, "ack")
        self._reply(m, w.ACK, addr)

    def _reply(self, m, typ, yiaddr, lease=True):
        opts = {w.OPT_MSG_TYPE: bytes([typ]), w.OPT_SERVER_ID: self.server_ip}
        if typ != w.NAK:
            opts[w.OPT_SUBNET_MASK] = prefix_mask(self.prefix)
            opts[w.OPT_ROUTER] = self.router
            opts[w.OPT_DNS] = self.dns
        if lease:
            s = self.lease_s
            opts[w.OPT_LEASE_TIME] = w.u32(s)
            opts[w.OPT_T1] = w.u32(s // 2)              # RFC 2131 4.4.5 defaults
            opts[w.OPT_T2] = w.u32(s * 7 // 8)
        r = w.Message(w.BOOTREPLY, m.xid, m.chaddr, opts, ciaddr=m.ciaddr, yiaddr=yiaddr,
                      siaddr=self.server_ip, giaddr=m.giaddr, flags=m.flags, htype=m.htype)
        # RFC 2131 4.1: a client with an address hears at it; a NAK, and anyone without an
        # address, by broadcast
        unicast = m.ciaddr != ANY and typ != w.NAK
        dst = m.ciaddr if unicast else LIMITED_BROADCAST
        try:
            self.ep.sendto(w.build(r), (ip_ntoa(dst), w.CLIENT_PORT))
            inc(self.stats, "tx_%d" % typ)
        except OSError:
            inc(self.stats, "tx_error")
