"""DHCP client (RFC 2131) for one interface, sans-I/O: a loop task, `poll(now_ms)` like any
app, that reads its UDP port 68 and returns ms until its next timer.

    client = DHCPClient(stack, iface)     # iface added without ip=: unconfigured
    loop.add_task(client.poll)
    ...
    client.release(now_ms)                # give the address back (RFC 2131 4.4.6)

States (RFC 2131 4.4, figure 5): INIT -> SELECTING (DISCOVER sent) -> REQUESTING (REQUEST for
the first OFFER) -> PROBING (the ACK's address checked with ARP, RFC 5227 2.1.1, Ethernet only)
-> BOUND (the interface configured: address, prefix, router, name servers) -> RENEWING at T1
(unicast to the server) -> REBINDING at T2 (broadcast) -> back to BOUND on an ACK, or, at the
lease's end, the address is removed and INIT starts again. A NAK anywhere goes to INIT; a
conflict found by the probe sends DECLINE and waits 10 s (RFC 2131 3.1.5). When the carrier
comes back while bound (a cable replugged, perhaps into another network), REBOOTING asks to
keep the address (INIT-REBOOT, RFC 2131 3.2 and 4.4.2); with no answer the lease is used on
(3.2 allows it). STOPPED after release() or stop().

Until BOUND the interface is unconfigured: IP sends the limited broadcast from 0.0.0.0 and
takes in broadcasts only, so every message asks the server to broadcast its answer (the
BROADCAST flag, RFC 2131 4.1). Retransmission: 4 s doubling to 64 s, each +-1 s from the
stack's seeded RNG (RFC 2131 4.1); in RENEWING and REBINDING half the time left, at least 60 s
(4.4.5). One client per stack: it owns UDP port 68, bound to its interface (as dhclient
binds to its device), so it speaks and hears only there.
"""

from . import ticks
from .addr import ANY, LIMITED_BROADCAST, ip_ntoa
from .compat import const
from .nic import ETHERNET
from .stats import inc
from .wire import Malformed, dhcp as w

INIT = "INIT"
SELECTING = "SELECTING"
REQUESTING = "REQUESTING"
PROBING = "PROBING"
BOUND = "BOUND"
RENEWING = "RENEWING"
REBINDING = "REBINDING"
REBOOTING = "REBOOTING"
STOPPED = "STOPPED"

# Deadlines are kept within the tick clock's half period (ticks.py): a longer lease is taken
# as this long, so the client renews early, which RFC 2131 4.4.5 allows.
_MAX_LEASE_MS = const(1 << 28)  # about 3.1 days
_PARAMS = bytes([w.OPT_SUBNET_MASK, w.OPT_ROUTER, w.OPT_DNS, w.OPT_LEASE_TIME, w.OPT_T1,
                 w.OPT_T2])


def _not_a_host(addr, prefix):
    """Why addr (with prefix, if known) cannot be this host's own address, or None."""
    a = int.from_bytes(addr, "big")
    if a == 0:
        return "address 0.0.0.0"
    first = a >> 24
    if first == 0 or first == 127 or first >= 224:
        return "address %s is not a unicast host address (RFC 1122 3.2.1.3)" % ip_ntoa(addr)
    if prefix is None:
        return None
    if prefix == 0 or prefix >= 31:
        # /0 would put the whole Internet on-link; /31 (RFC 3021) and /32 leave no subnet to
        # share with the router and the server
        return "a subnet mask of /%d" % prefix
    host = a & ((1 << (32 - prefix)) - 1)
    if host == 0 or host == (1 << (32 - prefix)) - 1:
        return "address %s/%d is the subnet's %s address" % (
            ip_ntoa(addr), prefix, "network" if host == 0 else "broadcast")
    return None


def _prefix(mask):
    """A contiguous netmask (option 1) -> its length; None for a non-contiguous one."""
    m = int.from_bytes(mask, "big")
    n = 0
    while n < 32 and m & (0x80000000 >> n):
        n += 1
    return n if (m << n) & 0xFFFFFFFF == 0 else None


class DHCPClient:
    def __init__(self, stack, iface, client_id=None, hostname=None, probe=None, now_ms=None,
                 log=None):
        """client_id: option 61 and, on an ip link (SLIP/TUN: no MAC), the chaddr source;
        an Ethernet interface uses its MAC. probe: RFC 5227 check (default: on Ethernet).
        log: fn(line) told of each lease taken, lost or refused (a board's REPL log)."""
        cfg = stack.cfg
        self.stack = stack
        self.iface = iface
        self.rng = stack.rng
        self.retry_ms = cfg.dhcp_retry_ms
        self.retry_max_ms = cfg.dhcp_retry_max_ms
        self.jitter_ms = cfg.dhcp_jitter_ms
        self.request_tries = cfg.dhcp_request_tries
        self.decline_wait_ms = cfg.dhcp_decline_wait_ms
        self.renew_min_ms = cfg.dhcp_renew_min_ms
        self.probes = cfg.dhcp_probes
        self.probe_ms = cfg.dhcp_probe_ms
        ethernet = iface.link == ETHERNET
        self.probe = ethernet if probe is None else (probe and ethernet)
        if ethernet:
            chaddr = iface.mac
        elif client_id:
            chaddr = bytes(client_id[-16:])
        else:
            raise ValueError("a DHCP client on an ip link needs a client_id")
        self.chaddr = chaddr
        self.client_id = bytes(client_id) if client_id else b"\x01" + chaddr  # RFC 2132 9.14
        self.hostname = hostname
        self.log = log
        self.ep = stack.udp.bind(w.CLIENT_PORT, queue=4)
        self.ep.device = iface
        self.stats = {}
        self.state = INIT
        self.xid = 0
        self.tries = 0
        self.next_at = None     # the state's timer
        self.started = None     # when this exchange began (the secs field)
        self.sent_at = None     # when the REQUEST that got the ACK went out (RFC 2131 4.4.1)
        self.server = None
        self.offered = None
        self.lease = None       # (address, prefix, router, dns, lease ms, t1 ms, t2 ms)
        self.t1_at = self.t2_at = self.expires_at = None
        self.probes_sent = 0
        self._links = iface.link_changes    # carrier changes seen (REBOOTING)
        now = stack.now if now_ms is None else now_ms
        self._init(now, self.rng.below(cfg.dhcp_init_delay_ms + 1))

    # -- the state machine ------------------------------------------------------------------

    def _init(self, now, delay):
        """INIT: the next DISCOVER after delay ms."""
        self.state = INIT
        self.server = self.offered = None
        self.next_at = ticks.add(now, delay)

    def _backoff(self):
        ms = self.retry_ms << self.tries if self.tries < 8 else self.retry_max_ms
        if ms > self.retry_max_ms:
            ms = self.retry_max_ms
        return self.rng.spread(ms, self.jitter_ms)

    def _retry_at(self, now, until):
        """RFC 2131 4.4.5: half the time left until `until`, at least renew_min_ms, never
        past it."""
        left = ticks.until(until, now)
        ms = left // 2
        if ms < self.renew_min_ms:
            ms = self.renew_min_ms
        return ticks.add(now, ms if ms < left else left)

    def poll(self, now):
        ep = self.ep
        for data, _ in ep.datagrams(4):
            self._input(data, now)
        st = self.state
        if st == STOPPED:
            return None
        iface = self.iface
        if iface.link_changes != self._links:
            self._links = iface.link_changes
            if iface.link_up and self.bound:
                self._reboot(now)
        if self.next_at is not None and ticks.due(self.next_at, now):
            self._timer(now)
        wait = None if self.next_at is None else ticks.until(self.next_at, now)
        return 0 if ep.pending() else wait

    def _timer(self, now):
        st = self.state
        if st == INIT or st == SELECTING:
            if st == INIT:
                self.state = SELECTING
                self.xid = self.rng.u32()
                self.tries = 0
                self.started = now
            else:
                self.tries += 1
                inc(self.stats, "retransmit")
            self._send(w.DISCOVER, now)
            self.next_at = ticks.add(now, self._backoff())
        elif st == REQUESTING or st == REBOOTING:
            self.tries += 1
            if self.tries >= self.request_tries:
                inc(self.stats, "request_timeout")
                if st == REBOOTING:
                    self._resume(now)
                else:
                    self._init(now, 0)
                return
            inc(self.stats, "retransmit")
            self._send(w.REQUEST, now)
            self.next_at = ticks.add(now, self._backoff())
        elif st == PROBING:
            if self.iface.arp.watch_conflict:
                self._decline(now)
            elif self.probes_sent < self.probes:
                self._probe(now)
            else:
                self.iface.arp.watch = None
                self._bind(now)
        elif st == BOUND or st == RENEWING or st == REBINDING:
            if ticks.due(self.expires_at, now):
                inc(self.stats, "expired")
                self._say("DHCP: the lease of %s expired with no server answering" % (
                    ip_ntoa(self.lease[0]),))
                self.lease = None
                self.iface.configure()
                self._init(now, 0)
                return
            if ticks.due(self.t2_at, now):
                if st != REBINDING:
                    self.state = REBINDING
                    self.xid = self.rng.u32()
                self.sent_at = now
                self._send(w.REQUEST, now)
                self.next_at = self._retry_at(now, self.expires_at)
            else:
                if st != RENEWING:
                    self.state = RENEWING
                    self.xid = self.rng.u32()
                self.sent_at = now
                self._send(w.REQUEST, now)
                self.next_at = self._retry_at(now, self.t2_at)

    def _input(self, data, now):
        try:
            m = w.parse(data)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        if m.op != w.BOOTREPLY or m.xid != self.xid or m.chaddr[:len(self.chaddr)] != \
                self.chaddr:
            inc(self.stats, "drop_not_ours")
            return
        t = m.type
        st = self.state
        sid = m.addr(w.OPT_SERVER_ID)
        if t == w.OFFER and st == SELECTING:
            why = "no server id" if sid is None else _not_a_host(m.yiaddr, None)
            if why:
                self._refuse("offer", sid, why)
                return
            inc(self.stats, "rx_offer")
            self.state = REQUESTING
            self.server = sid
            self.offered = m.yiaddr
            self.tries = 0
            self.sent_at = now
            self._send(w.REQUEST, now)
            self.next_at = ticks.add(now, self._backoff())
        elif t == w.ACK and st in (REQUESTING, RENEWING, REBINDING, REBOOTING):
            lease = self._lease(m)
            if isinstance(lease, str):
                self._refuse("ack", sid, lease)
                return
            inc(self.stats, "rx_ack")
            if sid is not None:
                self.server = sid
            self.lease = lease
            if st == REQUESTING and self.probe:
                self.state = PROBING
                self.probes_sent = 0
                self._probe(now)
            else:
                if st != REQUESTING:
                    inc(self.stats, _DONE[st])
                self._bind(now)
        elif t == w.NAK and st in (REQUESTING, RENEWING, REBINDING, REBOOTING):
            if st == REQUESTING and sid is not None and sid != self.server:
                inc(self.stats, "drop_not_ours")
                return
            inc(self.stats, "rx_nak")
            if self.lease is not None:
                self._say("DHCP: %s refused %s (NAK)" % (ip_ntoa(sid) if sid else "the server",
                                                         ip_ntoa(self.lease[0])))
            self.lease = None
            if self.iface.configured:
                self.iface.configure()
            # A NAK to a fresh REQUEST may come again for the next: not at once, so that a
            # confused server and this client cannot keep the link busy between them
            self._init(now, self._backoff() if st == REQUESTING else 0)
        else:
            inc(self.stats, "drop_unexpected")

    def _reboot(self, now):
        inc(self.stats, "reboot")
        self.state = REBOOTING
        self.xid = self.rng.u32()
        self.tries = 0
        self.started = self.sent_at = now
        self._send(w.REQUEST, now)
        self.next_at = ticks.add(now, self._backoff())

    def _resume(self, now):
        """REBOOTING unanswered: on with the lease as it was, its timers unchanged."""
        self.state = BOUND
        self.next_at = self.t1_at       # a T1 that passed meanwhile is due at once

    def _say(self, line):
        if self.log is not None:
            self.log(line)

    def _refuse(self, what, sid, why):
        """A server's nonsense is dropped, counted and said, never configured."""
        inc(self.stats, "refused_" + what)
        self._say("DHCP: refused the %s of %s: %s" % (what, ip_ntoa(sid) if sid else "a server",
                                                      why))

    def _lease(self, m):
        """The ACK's lease: (address, prefix, router, dns, lease ms, t1 ms, t2 ms), or why it
        is refused (a str)."""
        addr = m.yiaddr
        secs = m.u32(w.OPT_LEASE_TIME)
        if not secs:
            return "a lease of 0 s" if secs == 0 else "no lease time"
        mask = m.options.get(w.OPT_SUBNET_MASK)
        prefix = _prefix(mask) if mask is not None and len(mask) == 4 else None
        if mask is not None and prefix is None:
            return "a non-contiguous subnet mask"
        if prefix is None:
            prefix = self.lease[1] if self.lease else 24
        # the network and broadcast addresses are known only from the server's own mask
        why = _not_a_host(addr, prefix if mask is not None else None)
        if why:
            return why
        routers = m.addrs(w.OPT_ROUTER)
        lease = _MAX_LEASE_MS if secs >= _MAX_LEASE_MS // 1000 else secs * 1000
        # RFC 2131 4.4.5: T1 0.5 and T2 0.875 of the lease unless the server says; the
        # server's, scaled with a lease cut to _MAX_LEASE_MS
        t1 = m.u32(w.OPT_T1)
        t2 = m.u32(w.OPT_T2)
        t1 = lease // 2 if t1 is None else t1 * lease // secs
        t2 = lease * 7 // 8 if t2 is None else t2 * lease // secs
        if not 0 <= t1 <= t2 <= lease:
            t1 = lease // 2
            t2 = lease * 7 // 8
        return (addr, prefix, routers[0] if routers else None, m.addrs(w.OPT_DNS), lease, t1, t2)

    def _probe(self, now):
        self.iface.arp.probe(self.lease[0])
        self.probes_sent += 1
        self.next_at = ticks.add(now, self.probe_ms)

    def _decline(self, now):
        inc(self.stats, "conflict")
        self.iface.arp.watch = None
        self._send(w.DECLINE, now)
        self.lease = None
        self._init(now, self.decline_wait_ms)

    def _bind(self, now):
        addr, prefix, router, dns, lease, t1, t2 = self.lease
        start = self.sent_at if self.sent_at is not None else now
        self.t1_at = ticks.add(start, t1)
        self.t2_at = ticks.add(start, t2)
        self.expires_at = ticks.add(start, lease)
        self.state = BOUND
        self.next_at = self.t1_at
        iface = self.iface
        if iface.ip != addr or iface.prefix != prefix or iface.dns != dns:
            self._say("DHCP: bound %s/%d router %s dns %s lease %d s from %s" % (
                ip_ntoa(addr), prefix, ip_ntoa(router) if router else "-",
                ",".join(ip_ntoa(d) for d in dns) or "-", lease // 1000,
                ip_ntoa(self.server) if self.server else "-"))
            try:
                iface.configure(addr, prefix, ip_ntoa(router) if router else None, dns)
            except ValueError:
                # A router off the leased subnet: the address without it
                inc(self.stats, "bad_router")
                iface.configure(addr, prefix, None, dns)
        inc(self.stats, "bound")

    # -- messages ----------------------------------------------------------------------------

    def _send(self, typ, now):
        st = self.state
        opts = {w.OPT_MSG_TYPE: bytes([typ]), w.OPT_CLIENT_ID: self.client_id}
        ciaddr = ANY
        dst = LIMITED_BROADCAST
        flags = w.FLAG_BROADCAST
        if typ == w.REQUEST and st == REQUESTING:
            # RFC 2131 4.3.2 SELECTING: the offered address and the chosen server
            opts[w.OPT_REQUESTED_IP] = self.offered
            opts[w.OPT_SERVER_ID] = self.server
        elif typ == w.REQUEST and st == REBOOTING:
            # RFC 2131 4.3.2 INIT-REBOOT: the address in option 50, no server, no ciaddr
            opts[w.OPT_REQUESTED_IP] = self.lease[0]
        elif typ == w.REQUEST:
            # RENEWING (unicast to the server) and REBINDING (broadcast): ciaddr only
            ciaddr = self.iface.ip
            flags = 0
            if st == RENEWING:
                dst = self.server
        elif typ == w.DECLINE or typ == w.RELEASE:
            opts[w.OPT_SERVER_ID] = self.server
            if typ == w.DECLINE:
                opts[w.OPT_REQUESTED_IP] = self.lease[0]
            else:
                ciaddr = self.iface.ip
                dst = self.server
            flags = 0
        if typ == w.DISCOVER or typ == w.REQUEST:
            opts[w.OPT_PARAMS] = _PARAMS
            if self.hostname:
                opts[w.OPT_HOSTNAME] = self.hostname.encode()
        secs = ticks.diff(now, self.started) // 1000 if self.started is not None else 0
        m = w.Message(w.BOOTREQUEST, self.xid, self.chaddr, opts, ciaddr=ciaddr, flags=flags,
                      secs=min(max(secs, 0), 0xFFFF))
        try:
            self.ep.sendto(w.build(m), (ip_ntoa(dst), w.SERVER_PORT))
            inc(self.stats, "tx_%s" % _NAMES[typ])
        except OSError:
            inc(self.stats, "tx_error")     # no carrier, ARP queue full: the timer retries

    # -- the user's calls -----------------------------------------------------------------

    def release(self, now):
        """Give the lease back (RFC 2131 4.4.6), unconfigure the interface, stop."""
        if self.lease is not None and self.bound:
            self._send(w.RELEASE, now)
            self.iface.configure()
        self.stop()

    def stop(self):
        """Stop without a word to the server (the lease stays its until it expires)."""
        self.state = STOPPED
        self.lease = None
        self.next_at = None
        if self.iface.link == ETHERNET:
            self.iface.arp.watch = None

    def close(self):
        self.stop()
        self.ep.close()

    @property
    def bound(self):
        """The interface holds the lease's address."""
        return self.state in (BOUND, RENEWING, REBINDING, REBOOTING)

    def info(self):
        """The state and the lease, for `barenet ctl`, the status page and the tests."""
        out = {"state": self.state, "stats": dict(self.stats)}
        if self.lease is not None and self.bound:
            addr, prefix, router, dns, lease, t1, t2 = self.lease
            now = self.stack.now
            out.update({
                "address": "%s/%d" % (ip_ntoa(addr), prefix),
                "router": ip_ntoa(router) if router else None,
                "dns": [ip_ntoa(d) for d in dns],
                "server": ip_ntoa(self.server) if self.server else None,
                "lease_s": lease // 1000,
                "renew_in_s": ticks.until(self.t1_at, now) // 1000,
                "rebind_in_s": ticks.until(self.t2_at, now) // 1000,
                "expires_in_s": ticks.until(self.expires_at, now) // 1000})
        return out


_DONE = {RENEWING: "renewed", REBINDING: "rebound", REBOOTING: "rebooted"}
_NAMES = {w.DISCOVER: "discover", w.REQUEST: "request", w.DECLINE: "decline",
          w.RELEASE: "release"}
