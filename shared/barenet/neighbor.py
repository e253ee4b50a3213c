"""ARP (RFC 826) with neighbour unreachability detection in Linux's manner: a bounded cache
whose entries move REACHABLE -> STALE -> DELAY -> PROBE -> gone, bounded queues of datagrams
waiting for resolution, a per-target request rate limit (RFC 1122 2.3.2.1), gratuitous ARP,
address-conflict and spoofing detection.

One cache per Ethernet interface (iface.py). It talks only to its interface: frames leave
through `iface.nic`, resolved datagrams through `iface.send_waiting`, and datagrams whose next
hop never answered through `iface.unresolved`.

States (Linux include/net/neighbour.h NUD_*; RFC 1122 2.3.2.1 "unicast poll"):
- REACHABLE: confirmed by a unicast reply within `arp_reachable_ms`; used as is.
- STALE: not confirmed lately (or learned from a sender that asked for us); still used, and
  dropped if unused for `arp_stale_ms`. The first use moves it to DELAY.
- DELAY: in use while stale; after `arp_delay_ms` without a confirmation, PROBE.
- PROBE: up to `arp_probes` unicast requests to the known MAC, which stays in use; with no
  answer the entry is dropped and the next datagram resolves again by broadcast.
An address being resolved for the first time is a pending entry (Linux's INCOMPLETE), kept
apart from the cache because it holds datagrams.

Every request, broadcast or unicast, goes through `_solicit`, which sends at most one per
target per `arp_rate_ms` and remembers the targets of the last `arp_recent` requests: that
memory outlives a failed or evicted entry, so no burst of re-resolutions can bypass the rate,
and it bounds the requests per second of the whole interface."""

from . import ticks
from .addr import ANY, BROADCAST_MAC, ZERO_MAC
from .compat import const
from .stats import inc
from .wire import Malformed, arp, ethernet

_ETH_HLEN = ethernet.HEADER_LEN

_STALE = const(0)       # numbered in eviction order: a stale entry goes first
_DELAY = const(1)
_PROBE = const(2)
_REACHABLE = const(3)

# What a pending resolution is worth when the table is full (the lowest goes first)
_ANSWER = const(0)      # only answers traffic nobody asked for (SYN-ACK, RST, ICMP error, echo reply)
_OWN = const(1)         # traffic of our own (a connection's segment, an app's datagram)
_GATEWAY = const(2)     # the configured next hop: never evicted

# Which entries a new one may replace (see ARPCache._add: rank = state * 2 + worth)
_EVICT_ANY = const(8)       # for our own traffic: any but the gateway's
_EVICT_ANSWER = const(7)    # to answer a stranger: not a confirmed neighbour of our own
_EVICT_ASKER = const(1)     # a stranger that asked for us: only another stale stranger

_RST = const(0x04)
_SYN_ACK = const(0x12)
_ICMP_ECHO_REQUEST = const(8)


def _worth(datagram):
    """Whether a datagram answers a stranger (a reply to unsolicited traffic, which a flood of
    spoofed sources makes us send) or is traffic of our own."""
    if (datagram[6] & 0x1F) or datagram[7]:
        return _OWN                     # a later fragment: its header says nothing
    ihl = (datagram[0] & 0x0F) * 4
    proto = datagram[9]
    if proto == 6 and len(datagram) >= ihl + 14:
        flags = datagram[ihl + 13]
        if flags & _RST or flags & _SYN_ACK == _SYN_ACK:
            return _ANSWER
    elif proto == 1 and len(datagram) > ihl and datagram[ihl] != _ICMP_ECHO_REQUEST:
        return _ANSWER                  # an echo reply or an ICMP error (RFC 1122 3.2.2)
    return _OWN


class _Pending:
    """An address being resolved: the datagrams waiting for it, its worth, and the retry
    schedule."""

    def __init__(self, worth, now):
        self.queue = []
        self.bytes = 0
        self.tries = 0
        self.worth = worth
        self.born = now
        self.next_at = now


class _Neighbor:
    """A cache entry. `at` is the deadline of the state: REACHABLE until it, STALE until it
    (then dropped if unused), DELAY until the first probe, PROBE until the next probe."""

    def __init__(self, mac, state, at, now, worth):
        self.mac = mac
        self.state = state
        self.at = at
        self.updated = now              # the last MAC change or confirmation (Linux locktime)
        self.probes = 0
        self.worth = worth              # _ANSWER or _OWN: what it was first resolved for


def _age(now, t):
    """ms since t, or None when t is not in the last half period (a timestamp so old that the
    wrapping clock can no longer order it)."""
    d = ticks.diff(now, t)
    return d if d >= 0 else None


class ARPCache:
    """Maps IPv4 -> MAC for one interface. A datagram dropped because its next hop never
    answered goes to `iface.unresolved`: the IP layer turns it into a local ICMP
    host-unreachable for the sender, as RFC 1122 2.3.2.2 and Linux do."""

    def __init__(self, iface, cfg, stats):
        self.iface = iface
        self.size = cfg.arp_size
        self.pending_addrs = cfg.arp_pending
        # Bytes, not datagrams (like Linux's unres_qlen_bytes): one fragmented datagram is many
        # frames, and a count would drop part of it.
        self.pending_bytes = cfg.arp_queue_bytes
        self.retries = cfg.arp_retries
        self.retry_ms = cfg.arp_retry_ms
        self.reachable_ms = cfg.arp_reachable_ms
        self.stale_ms = cfg.arp_stale_ms
        self.delay_ms = cfg.arp_delay_ms
        self.probes = cfg.arp_probes
        self.rate_ms = cfg.arp_rate_ms
        self.recent_size = cfg.arp_recent
        self.locktime_ms = cfg.arp_locktime_ms
        self.entries = {}   # ip -> _Neighbor
        self.pending = {}   # ip -> _Pending
        self.timed = {}     # ip -> _Neighbor, the entries in DELAY or PROBE (poll's work)
        self._timed_at = None   # no entry of timed is due before this
        self.recent = {}    # ip -> when the last request for it was sent
        self._full_until = None  # recent holds only young entries until then
        self._sweep_at = None
        self.stats = stats
        self._buf = bytearray(_ETH_HLEN + arp.LEN)
        self.watch = None           # an address being probed before use (probe())
        self.watch_conflict = False

    # -- the cache --------------------------------------------------------------------------

    def lookup(self, ip, now):
        """The MAC to send to ip now, or None (then `resolve`)."""
        e = self.entries.get(ip)
        if e is None:
            return None
        if e.state == _REACHABLE and ticks.diff(now, e.at) < 0:
            return e.mac                # the hot path: a confirmed neighbour
        if e.state == _DELAY or e.state == _PROBE:
            return e.mac                # being checked: keep using it meanwhile
        if self._settle(ip, e, now) is None:
            return None
        # Used while stale: give upper layers a while to confirm it, then probe (Linux DELAY)
        self._set(ip, e, _DELAY, ticks.add(now, self.delay_ms))
        return e.mac

    def _settle(self, ip, e, now):
        """Bring a REACHABLE or STALE entry up to date: e, or None if it was dropped."""
        if e.state == _REACHABLE:
            if ticks.diff(now, e.at) < 0:
                return e
            self._set(ip, e, _STALE, ticks.add(e.at, self.stale_ms))
        if e.state == _STALE and ticks.due(e.at, now) and ip != self.iface.gateway:
            # Unused for arp_stale_ms (Linux gc_stale_time); the gateway keeps its MAC
            del self.entries[ip]
            inc(self.stats, "expired")
            return None
        return e

    def _set(self, ip, e, state, at):
        if state != e.state:
            inc(self.stats, _STATE_NAMES[state])
            if state == _DELAY or state == _PROBE:
                self.timed[ip] = e
            elif e.state == _DELAY or e.state == _PROBE:
                del self.timed[ip]
        e.state = state
        self._at(e, at)

    def _at(self, e, at):
        e.at = at
        if e.state == _DELAY or e.state == _PROBE:
            if self._timed_at is None or ticks.diff(at, self._timed_at) < 0:
                self._timed_at = at

    def learn(self, ip, mac, now):
        """Enter ip as confirmed at mac (an answer to our request; tests plant entries so)."""
        e = self.entries.get(ip)
        if e is None:
            self._add(ip, bytes(mac), _REACHABLE, now, _OWN, _EVICT_ANY)
            return
        e.mac = bytes(mac)
        e.updated = now
        self._set(ip, e, _REACHABLE, ticks.add(now, self.reachable_ms))

    def _add(self, ip, mac, state, now, worth, below):
        """A new entry; when the cache is full it replaces the least valuable one whose rank
        (its state, then its worth: a stale stranger first, a confirmed neighbour we send to
        last) is below `below`, the least recently confirmed first, never the gateway's.
        False when there is none."""
        if len(self.entries) >= self.size:
            gw = self.iface.gateway
            victim = None
            vrank = vat = 0
            for k, e in self.entries.items():
                if k == gw:
                    continue            # pinned while it is the route's next hop
                state_ = e.state
                if state_ == _REACHABLE and ticks.due(e.at, now):
                    state_ = _STALE
                rank = state_ * 2 + e.worth
                if rank >= below:
                    continue
                if victim is None or rank < vrank or \
                        (rank == vrank and ticks.diff(e.updated, vat) < 0):
                    victim, vrank, vat = k, rank, e.updated
            if victim is None:
                inc(self.stats, "learn_refused_full")
                return False
            self.timed.pop(victim, None)
            del self.entries[victim]
            inc(self.stats, "evicted")
        at = ticks.add(now, self.reachable_ms if state == _REACHABLE else self.stale_ms)
        self.entries[ip] = _Neighbor(mac, state, at, now, worth)
        inc(self.stats, _STATE_NAMES[state])
        return True

    def suspect(self, ip, now):
        """An upper layer saw no answer through ip (IP.neighbor_suspect, from TCP's
        retransmission timeout): probe the MAC in use instead of trusting it, or forgetting it
        at once (RFC 1122 2.3.2.1; Linux moves the entry to PROBE)."""
        e = self.entries.get(ip)
        if e is None or e.state == _PROBE:
            return
        inc(self.stats, "suspect")
        e.probes = 0
        self._set(ip, e, _PROBE, now)
        self._probe(ip, e, now)

    def flush(self):
        """Forget every entry (the link went down: who is on it may change before it is back).
        Datagrams still waiting keep waiting for their retries."""
        if self.entries:
            inc(self.stats, "flushed", len(self.entries))
            self.entries = {}
            self.timed = {}

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, ip, datagram, now):
        """Queue a datagram (copied) for ip and start or continue resolving it."""
        p = self.pending.get(ip)
        worth = _GATEWAY if ip == self.iface.gateway else _worth(datagram)
        if p is None:
            if len(self.pending) >= self.pending_addrs and not self._evict_pending(worth):
                inc(self.stats, "drop_pending_full")
                return False
            p = _Pending(worth, now)
            self.pending[ip] = p
            self._retry(ip, p, now)
        elif worth > p.worth:
            p.worth = worth
        if p.bytes + len(datagram) > self.pending_bytes:
            inc(self.stats, "drop_queue_full")
            return False
        p.queue.append(bytes(datagram))
        p.bytes += len(datagram)
        return True

    def _evict_pending(self, worth):
        """Make room in the pending table for a resolution of the given worth by dropping the
        least valuable one (the oldest of the lowest worth), if it is worth no more."""
        victim = vp = None
        for k, p in self.pending.items():
            if vp is None or p.worth < vp.worth or \
                    (p.worth == vp.worth and ticks.diff(p.born, vp.born) < 0):
                victim, vp = k, p
        if vp is None or vp.worth > worth or vp.worth == _GATEWAY:
            return False
        del self.pending[victim]
        inc(self.stats, "evicted_pending")
        # Dropped as Linux drops a full unresolved queue (unres_discards): TCP retransmits
        inc(self.stats, "drop_evicted", len(vp.queue))
        return True

    def _retry(self, ip, p, now):
        """Send the next broadcast request for a pending address, if the rate allows."""
        wait = self._solicit(ip, BROADCAST_MAC, now)
        if wait == 0 or (wait < 0 and p.worth == _ANSWER):
            # Refused for the interface's rate, an answer to a stranger uses up a try too, so
            # that a flood's resolutions leave soon; one of our own waits for room
            p.tries += 1
        if wait <= 0:
            wait = self.retry_ms
        p.next_at = ticks.add(now, wait)

    def _probe(self, ip, e, now):
        """Send the next unicast probe for an entry in PROBE, if the rate allows."""
        wait = self._solicit(ip, e.mac, now)
        if wait == 0:
            inc(self.stats, "tx_probe")
        if wait <= 0:
            e.probes += 1
            wait = self.retry_ms
        self._at(e, ticks.add(now, wait))

    def _solicit(self, ip, dst_mac, now):
        """Send a who-has for ip to dst_mac (broadcast, or the MAC of a unicast probe): 0 when
        sent; else the ms until this target may be asked again, or -1 when the requests of the
        last arp_rate_ms fill the memory (the gateway is asked anyway)."""
        recent = self.recent
        t = recent.get(ip)
        if t is not None:
            age = _age(now, t)
            if age is not None and age < self.rate_ms:
                inc(self.stats, "rate_limited")  # RFC 1122 2.3.2.1: one per second per target
                return self.rate_ms - age
        elif len(recent) >= self.recent_size and not self._recent_room(now) \
                and ip != self.iface.gateway:
            inc(self.stats, "rate_table_full")
            return -1
        recent[ip] = now
        self._request(ip, dst_mac)
        return 0

    def _recent_room(self, now):
        """Forget requests older than arp_rate_ms; True if there is room then."""
        if self._full_until is not None and not ticks.due(self._full_until, now):
            return False
        self._full_until = None
        recent = self.recent
        oldest = None
        for ip in list(recent):
            age = _age(now, recent[ip])
            if age is None or age >= self.rate_ms:
                del recent[ip]
            elif oldest is None or age > oldest:
                oldest = age
        if len(recent) < self.recent_size:
            return True
        self._full_until = ticks.add(now, self.rate_ms - oldest)
        return False

    def _request(self, target_ip, dst_mac):
        """A who-has request for target_ip (from 0.0.0.0 while unconfigured: an RFC 5227
        2.1.1 probe). A unicast probe leaves the target hardware address zero, as Linux's."""
        self._send(dst_mac, arp.OP_REQUEST, self.iface.ip, ZERO_MAC, target_ip)
        if dst_mac is BROADCAST_MAC:
            inc(self.stats, "tx_request")

    def probe(self, ip):
        """An RFC 5227 2.1.1 probe for ip, which the DHCP client is about to use: a request
        from 0.0.0.0. From now until watch is cleared, any ARP packet from another host that
        claims ip, or probes for it too, sets watch_conflict."""
        if self.watch != ip:
            self.watch = ip
            self.watch_conflict = False
        self._send(BROADCAST_MAC, arp.OP_REQUEST, ANY, ZERO_MAC, ip)
        inc(self.stats, "tx_probe")

    def announce(self):
        """Gratuitous ARP: a request for our own address (an RFC 5227 3 announcement)."""
        ip = self.iface.ip
        self._send(BROADCAST_MAC, arp.OP_REQUEST, ip, ZERO_MAC, ip)
        inc(self.stats, "tx_gratuitous")

    def _send(self, dst_mac, op, spa, tha, tpa):
        buf = self._buf
        iface = self.iface
        ethernet.emit(buf, dst_mac, iface.mac, ethernet.TYPE_ARP)
        arp.emit(buf, _ETH_HLEN, op, iface.mac, spa, tha, tpa)
        inc(iface.stats, "tx")
        iface.nic.send(memoryview(buf))

    # -- input ------------------------------------------------------------------------------

    def input(self, data, now, unicast):
        """One ARP packet from the interface; unicast: the frame was sent to our MAC."""
        try:
            op, sha, spa, tha, tpa = arp.parse(data)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        iface = self.iface
        w = self.watch
        if w is not None and sha != iface.mac and (spa == w or (spa == ANY and tpa == w)):
            inc(self.stats, "probe_conflict")   # RFC 5227 2.1.1: the address is taken
            self.watch_conflict = True
        if spa == iface.ip and sha != iface.mac and iface.configured:
            # Someone else claims our address (RFC 5227 2.4): count it, never learn it.
            inc(self.stats, "conflict")
            return
        if spa == ANY:
            # An ARP probe (RFC 5227 2.1.1): nothing to learn, but a probe for our address
            # is answered, so that its sender sees the conflict (Linux arp_process, sip == 0)
            if tpa == iface.ip and iface.configured and op == arp.OP_REQUEST:
                self._send(sha, arp.OP_REPLY, iface.ip, sha, ANY)
                inc(self.stats, "tx_reply")
            return
        for_us = tpa == iface.ip and iface.configured
        # Only a reply sent to us confirms reachability; a request or a broadcast reply says
        # only that the sender exists (Linux arp_process: NUD_STALE).
        confirms = op == arp.OP_REPLY and unicast
        e = self.entries.get(spa)
        if e is not None:
            self._merge(spa, e, sha, confirms, spa == tpa, now)
        else:
            p = self.pending.pop(spa, None)
            if p is not None:
                worth = _ANSWER if p.worth == _ANSWER else _OWN
                self._add(spa, sha, _REACHABLE if confirms else _STALE, now, worth,
                          _EVICT_ANY if worth == _OWN else _EVICT_ANSWER)
                for d in p.queue:
                    iface.send_waiting(sha, d)
            elif for_us and op == arp.OP_REQUEST:
                # RFC 826: a sender that asks for us will be answered, so learn it, but as
                # STALE, displacing only other stale entries: a flood of requests from
                # strangers cannot push out the neighbours we talk to. An unsolicited reply
                # teaches nothing (Linux without arp_accept).
                self._add(spa, sha, _STALE, now, _ANSWER, _EVICT_ASKER)
        if for_us and op == arp.OP_REQUEST:
            self._send(sha, arp.OP_REPLY, iface.ip, sha, spa)
            inc(self.stats, "tx_reply")

    def _merge(self, ip, e, sha, confirms, gratuitous, now):
        """RFC 826's merge of a known sender, with Linux's rules (net/ipv4/arp.c arp_process,
        net/core/neighbour.c neigh_update): a new MAC replaces the old one unless the entry
        changed within arp_locktime_ms (the first of several replies wins; a gratuitous ARP
        always wins), and it is counted as a spoofing suspect, the more so if the old MAC was
        confirmed lately."""
        if sha != e.mac:
            inc(self.stats, "spoof_suspect")
            if e.state == _REACHABLE and not ticks.due(e.at, now):
                inc(self.stats, "spoof_suspect_reachable")
            age = _age(now, e.updated)
            if not gratuitous and age is not None and age < self.locktime_ms:
                inc(self.stats, "mac_change_locked")
                return
            e.mac = sha
            e.updated = now
            inc(self.stats, "mac_changed")
            if not confirms:
                self._set(ip, e, _STALE, ticks.add(now, self.stale_ms))
                return
        if confirms:
            e.updated = now
            self._set(ip, e, _REACHABLE, ticks.add(now, self.reachable_ms))
        # else the same MAC, unconfirmed: the state stays (neigh_update keeps a valid one)

    # -- timers -----------------------------------------------------------------------------

    def poll(self, now):
        """Retry or fail pending resolutions, probe entries in DELAY or PROBE; returns ms until
        the next of these or None."""
        wait = None
        if self.pending:
            for ip in list(self.pending):
                p = self.pending[ip]
                if ticks.due(p.next_at, now):
                    if p.tries >= self.retries:
                        del self.pending[ip]
                        inc(self.stats, "failed")
                        for d in p.queue:
                            self.iface.unresolved(d, now)
                        continue
                    self._retry(ip, p, now)
                wait = ticks.earliest(wait, ticks.until(p.next_at, now))
        # Only when one is due: a list per poll would allocate for every segment sent while
        # a neighbour sits in DELAY (seconds, on a busy connection)
        if self.timed and ticks.due(self._timed_at, now):
            self._timed_at = None
            for ip in list(self.timed):
                e = self.timed[ip]
                if not ticks.due(e.at, now):
                    self._at(e, e.at)
                    continue
                if e.state == _DELAY:
                    e.probes = 0
                    self._set(ip, e, _PROBE, now)
                if e.probes >= self.probes:
                    # No answer to arp_probes unicast probes: forget the MAC (Linux
                    # NUD_FAILED); the next datagram resolves it by broadcast
                    del self.timed[ip]
                    del self.entries[ip]
                    inc(self.stats, "probe_failed")
                    continue
                self._probe(ip, e, now)
        if self.timed:
            wait = ticks.earliest(wait, ticks.until(self._timed_at, now))
        else:
            self._timed_at = None
        if self._sweep_at is None or ticks.due(self._sweep_at, now):
            self._sweep(now)
        return wait

    def _sweep(self, now):
        """Now and then, settle every entry, so that none outlives its state by half a wrap
        of the clock (2**29 ms), where its deadline could no longer be ordered. Not reported
        as a deadline: an idle board need not wake for it."""
        self._sweep_at = ticks.add(now, self.reachable_ms)
        if self.entries:
            for ip in list(self.entries):
                e = self.entries[ip]
                if e.state == _REACHABLE or e.state == _STALE:
                    self._settle(ip, e, now)


_STATE_NAMES = {_STALE: "state_stale", _DELAY: "state_delay", _PROBE: "state_probe",
                _REACHABLE: "state_reachable"}
