"""ARP (RFC 826): a bounded cache with expiry, bounded per-address queues of datagrams waiting
for resolution, request retries, gratuitous ARP, and address-conflict detection.

One cache per Ethernet interface (iface.py). It talks only to its interface: frames leave
through `iface.nic`, resolved datagrams through `iface.send_waiting`, and datagrams whose next
hop never answered through `iface.unresolved`."""

from . import ticks
from .addr import BROADCAST_MAC, ZERO_MAC
from .stats import inc
from .wire import Malformed, arp, ethernet

_ETH_HLEN = ethernet.HEADER_LEN


class _Pending:
    """An address being resolved: the datagrams waiting for it and the retry schedule."""

    def __init__(self, next_at):
        self.queue = []
        self.bytes = 0
        self.tries = 1
        self.next_at = next_at


class ARPCache:
    """Maps IPv4 -> MAC for one interface. A datagram dropped because its next hop never
    answered goes to `iface.unresolved`: the IP layer turns it into a local ICMP
    host-unreachable for the sender, as RFC 1122 2.3.2.2 and Linux do."""

    def __init__(self, iface, cfg, stats):
        self.iface = iface
        self.size = cfg.arp_size
        self.ttl_ms = cfg.arp_ttl_ms
        self.pending_addrs = cfg.arp_pending
        # Bytes, not datagrams (like Linux's unres_qlen_bytes): one fragmented datagram is many
        # frames, and a count would drop part of it.
        self.pending_bytes = cfg.arp_queue_bytes
        self.retries = cfg.arp_retries
        self.retry_ms = cfg.arp_retry_ms
        self.entries = {}  # ip -> [mac, expires_at]
        self.pending = {}  # ip -> _Pending
        self.stats = stats
        self._buf = bytearray(_ETH_HLEN + arp.LEN)

    def lookup(self, ip, now):
        e = self.entries.get(ip)
        if e is None:
            return None
        if ticks.due(e[1], now):
            del self.entries[ip]
            inc(self.stats, "expired")
            return None
        return e[0]

    def learn(self, ip, mac, now):
        if ip not in self.entries and len(self.entries) >= self.size:
            # Evict the entry closest to expiry: the least recently confirmed one.
            oldest = None
            for k, e in self.entries.items():
                if oldest is None or ticks.diff(e[1], self.entries[oldest][1]) < 0:
                    oldest = k
            del self.entries[oldest]
            inc(self.stats, "evicted")
        self.entries[ip] = [bytes(mac), ticks.add(now, self.ttl_ms)]

    def forget(self, ip):
        """Drop ip's entry: an upper layer saw no answer through it (see IP.neighbor_suspect)."""
        if self.entries.pop(ip, None) is not None:
            inc(self.stats, "forgotten")

    def resolve(self, ip, datagram, now):
        """Queue a datagram (copied) for ip and start or continue resolving it."""
        p = self.pending.get(ip)
        if p is None:
            if len(self.pending) >= self.pending_addrs:
                inc(self.stats, "drop_pending_full")
                return False
            p = _Pending(ticks.add(now, self.retry_ms))
            self.pending[ip] = p
            self.request(ip)
        if p.bytes + len(datagram) > self.pending_bytes:
            inc(self.stats, "drop_queue_full")
            return False
        p.queue.append(bytes(datagram))
        p.bytes += len(datagram)
        return True

    def request(self, target_ip):
        """Broadcast a who-has request for target_ip (from 0.0.0.0 while unconfigured: an
        RFC 5227 2.1.1 probe)."""
        self._send(BROADCAST_MAC, arp.OP_REQUEST, self.iface.ip, ZERO_MAC, target_ip)
        inc(self.stats, "tx_request")

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

    def flush(self):
        """Forget every entry (the link went down: who is on it may change before it is back).
        Datagrams still waiting keep waiting for their retries."""
        if self.entries:
            inc(self.stats, "flushed", len(self.entries))
            self.entries = {}

    def input(self, data, now):
        """One ARP packet from the interface."""
        try:
            op, sha, spa, tha, tpa = arp.parse(data)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        iface = self.iface
        if spa == iface.ip and sha != iface.mac and iface.configured:
            # Someone else claims our address (RFC 5227 2.4): count it, never learn it.
            inc(self.stats, "conflict")
            return
        if spa == b"\x00\x00\x00\x00":
            return  # an ARP probe (RFC 5227 2.1.1): nothing to learn
        for_us = tpa == iface.ip and iface.configured
        # RFC 826 "merge": refresh a known sender; add a new one only if it asked for us.
        if for_us or spa in self.entries or spa in self.pending:
            self.learn(spa, sha, now)
            p = self.pending.pop(spa, None)
            if p is not None:
                for d in p.queue:
                    iface.send_waiting(sha, d)
        if for_us and op == arp.OP_REQUEST:
            self._send(sha, arp.OP_REPLY, iface.ip, sha, spa)
            inc(self.stats, "tx_reply")

    def poll(self, now):
        """Retry or fail pending resolutions; returns ms until the next retry or None."""
        if not self.pending:
            return None                 # (list() below would be an allocation per poll)
        wait = None
        for ip in list(self.pending):
            p = self.pending[ip]
            if ticks.due(p.next_at, now):
                if p.tries >= self.retries:
                    del self.pending[ip]
                    inc(self.stats, "failed")
                    for d in p.queue:
                        self.iface.unresolved(d, now)
                    continue
                p.tries += 1
                p.next_at = ticks.add(now, self.retry_ms)
                self.request(ip)
            wait = ticks.earliest(wait, ticks.until(p.next_at, now))
        return wait
