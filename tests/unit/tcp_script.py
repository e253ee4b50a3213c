"""packetdrill-style helpers: a scripted peer talks TCP to a real barenet Stack.

A test is a timeline of segments in and out at explicit virtual times:

    s = Script(isn=2000)                      # barenet's ISN is injected
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, win=65535, mss=1460)
    syn_ack = s.expect("SA", seq=2000, ack=1001)
    s.inject("A", seq=1001, ack=2001)
    s.expect_nothing()
    s.wait(200)                               # move the virtual clock; timers fire

The peer's frames are built with scapy and barenet's are decoded with scapy (an independent
codec). ARP is answered automatically, so only TCP/IP shows up in the timeline.
"""

from scapy.layers.inet import IP, TCP as ScapyTCP, ICMP
from scapy.layers.l2 import ARP, Ether

from barenet.tcp import TCP
from barenet_host.vwire import Sim

US_MAC, US_IP = "02:00:00:00:00:02", "192.0.2.2"
PEER_MAC, PEER_IP = "02:00:00:00:00:01", "192.0.2.1"
US_PORT, PEER_PORT = 80, 40000


def _flagset(s):
    return frozenset(s.replace(".", "A"))


def add_tcp(stack, **tcp_kwargs):
    """Give a Stack a TCP (replacing any the Stack made itself, so tests can inject limits)."""
    tcp = TCP(stack, **tcp_kwargs)
    stack.tcp = tcp
    stack.ip.register(6, tcp)
    return tcp


class _Recorder:
    """Stands where a stack would on the peer's NIC: keeps (time, scapy frame) pairs."""

    def __init__(self, script):
        self.script = script

    def input(self, iface, frame, now):
        f = Ether(bytes(frame))
        if f.src == PEER_MAC:
            return              # our own frame echoed by the hub
        if ARP in f:
            a = f[ARP]
            if a.op == 1 and a.pdst == self.script.peer_ip:
                self.script.nic.send(bytes(
                    Ether(dst=f.src, src=PEER_MAC) /
                    ARP(op=2, hwsrc=PEER_MAC, psrc=self.script.peer_ip, hwdst=a.hwsrc,
                        pdst=a.psrc)))
            return
        if IP in f:
            self.script.out.append((now, f))


class Script:
    def __init__(self, isn=2000, start_ms=0, mtu=1500, peer_ip=PEER_IP, faults=None,
                 **tcp_kwargs):
        self.sim = Sim(start_ms)
        self.start = start_ms
        self.wire = self.sim.wire(faults=faults)
        self.stack, self.iface = self.sim.host(self.wire, US_MAC, US_IP + "/24", mtu=mtu)
        if isn is not None:
            tcp_kwargs["isn"] = lambda *a: isn
        self.tcp = add_tcp(self.stack, **tcp_kwargs)
        self.peer_ip = peer_ip
        self.nic = self.wire.nic()
        self.nic.bind(_Recorder(self), None)
        self.out = []
        self.settle()
        self.out.clear()

    # -- time ----------------------------------------------------------------------------

    @property
    def now(self):
        """Virtual ms since the script started."""
        return self.sim._abs - self.start

    def settle(self):
        """Run every step due at the current instant (frames, their replies, ARP)."""
        ev = self.sim._events
        self.sim.run(until=lambda: ev.next_at() is None or ev.next_at() > self.sim._abs,
                     max_ms=0)
        err = self.stack.last_error
        if err is not None:
            self.stack.last_error = None
            raise AssertionError("barenet raised inside input()") from err

    def wait(self, ms):
        """Advance the virtual clock by ms; timers due meanwhile fire at their own times."""
        self.sim.advance(ms)
        self.settle()

    # -- the peer's side -------------------------------------------------------------------

    def segment(self, flags, seq=0, ack=0, win=65535, data=b"", sport=PEER_PORT, dport=US_PORT,
                urg=0, options=None, **opts):
        """A scapy frame from the peer. opts: mss=, wscale=, sack_perm=True, sack=[(l, r)]."""
        o = list(options or [])
        if "mss" in opts:
            o.append(("MSS", opts["mss"]))
        if "wscale" in opts:
            o.append(("WScale", opts["wscale"]))
        if opts.get("sack_perm"):
            o.append(("SAckOK", b""))
        if opts.get("sack"):
            o.append(("SAck", tuple(x for b in opts["sack"] for x in b)))
        return (Ether(dst=US_MAC, src=PEER_MAC) / IP(src=self.peer_ip, dst=US_IP) /
                ScapyTCP(sport=sport, dport=dport, flags=flags.replace(".", "A"), seq=seq,
                         ack=ack, window=win, urgptr=urg, options=o) / data)

    def inject(self, flags, **kw):
        """The peer sends one segment now."""
        self.inject_frame(self.segment(flags, **kw))

    def inject_frame(self, frame):
        self.nic.send(bytes(frame))
        self.settle()

    def inject_icmp(self, icmp_type, code, quoted_frame, nexthop_mtu=0):
        """An ICMP error from a router about a frame barenet sent (quotes its IP header + 8)."""
        q = bytes(quoted_frame[IP])[:quoted_frame[IP].ihl * 4 + 8]
        icmp = ICMP(type=icmp_type, code=code, nexthopmtu=nexthop_mtu) if nexthop_mtu else \
            ICMP(type=icmp_type, code=code)
        self.inject_frame(Ether(dst=US_MAC, src=PEER_MAC) / IP(src=self.peer_ip, dst=US_IP) /
                          icmp / q)

    # -- barenet's side --------------------------------------------------------------------

    def take(self):
        """Every (time since start, scapy frame) barenet sent since the last call."""
        out = [((t - self.start) % 2**30, f) for t, f in self.out]
        self.out.clear()
        return out

    def expect(self, flags, seq=None, ack=None, win=None, data=None, at=None, **opts):
        """Exactly one segment was sent, matching every given field; returns its scapy TCP.

        at: the virtual time (ms since start) it must have left at. opts: mss=, wscale=,
        sack_perm=, sack=[(l, r)], urg= (the urgent pointer), no_options=True.
        """
        self.settle()
        got = self.take()
        assert len(got) == 1, "expected one %s segment, got %s" % (flags, _show(got))
        t, f = got[0]
        return self._check(t, f, flags, seq, ack, win, data, at, opts)

    def expect_many(self, n):
        """Exactly n segments were sent; returns their scapy TCP layers."""
        self.settle()
        got = self.take()
        assert len(got) == n, "expected %d segments, got %s" % (n, _show(got))
        return [f[ScapyTCP] for _, f in got]

    def expect_nothing(self):
        self.settle()
        got = self.take()
        assert not got, "expected nothing, got %s" % _show(got)

    def _check(self, t, f, flags, sq, ak, win, data, at, opts):
        assert ScapyTCP in f, "not TCP: %r" % f
        t_ = f[ScapyTCP]
        what = _show([(t, f)])
        assert _flagset(str(t_.flags)) == _flagset(flags), "flags: want %s, got %s" % (flags,
                                                                                          what)
        if sq is not None:
            assert t_.seq == sq % 2**32, "seq: want %d, got %s" % (sq % 2**32, what)
        if ak is not None:
            assert t_.ack == ak % 2**32, "ack: want %d, got %s" % (ak % 2**32, what)
        if win is not None:
            assert t_.window == win, "win: want %d, got %s" % (win, what)
        if data is not None:
            assert bytes(t_.payload) == data, "data: want %r, got %r" % (data, bytes(t_.payload))
        if at is not None:
            assert t == at, "time: want %d, got %s" % (at, what)
        o = dict((k, v) for k, v in t_.options if k not in ("NOP", "EOL"))
        if opts.get("no_options"):
            assert not o, "options: want none, got %r" % (o,)
        for k, name in (("mss", "MSS"), ("wscale", "WScale")):
            if k in opts:
                assert o.get(name) == opts[k], "%s: want %r, got %r" % (k, opts[k], o)
        if "sack_perm" in opts:
            assert ("SAckOK" in o) == opts["sack_perm"], "sack_perm: got %r" % (o,)
        if "sack" in opts:
            want = tuple(x for b in opts["sack"] for x in b)
            assert o.get("SAck", ()) == want, "sack: want %r, got %r" % (want, o)
        if "urg" in opts:
            assert t_.urgptr == opts["urg"], "urg: want %d, got %s" % (opts["urg"], what)
        # IP and TCP checksums must verify in scapy
        ip = f[IP].copy()
        del ip.chksum
        del ip[ScapyTCP].chksum
        redo = IP(bytes(ip))
        assert redo.chksum == f[IP].chksum and redo[ScapyTCP].chksum == t_.chksum, "checksum"
        return t_

    # -- common openings -----------------------------------------------------------------

    def established_passive(self, peer_isn=1000, win=65535, mss=1460, **opts):
        """Listen on US_PORT and complete a handshake from the peer; returns the connection.
        The peer's next sequence number is peer_isn + 1, ours is isn + 1."""
        self.listener = self.tcp.listen(US_PORT)
        self.inject("S", seq=peer_isn, win=win, mss=mss, **opts)
        sa = self.expect("SA", ack=peer_isn + 1)
        self.inject("A", seq=peer_isn + 1, ack=sa.seq + 1, win=win)
        self.expect_nothing()
        conn = self.listener.accept()
        assert conn is not None and conn.info()["state"] == "ESTABLISHED"
        return conn

    def established_active(self, peer_isn=1000, win=65535, mss=1460, **opts):
        """barenet connects to the peer, which answers; returns the connection."""
        conn = self.tcp.connect(self.peer_ip, PEER_PORT, src_port=US_PORT)
        self.settle()
        syn = self.expect("S")
        self.inject("SA", seq=peer_isn, ack=syn.seq + 1, win=win, mss=mss, **opts)
        self.expect("A", seq=syn.seq + 1, ack=peer_isn + 1)
        assert conn.info()["state"] == "ESTABLISHED"
        return conn


def _show(got):
    out = []
    for t, f in got:
        if ScapyTCP in f:
            x = f[ScapyTCP]
            out.append("@%d %s seq=%d ack=%d win=%d len=%d %r" % (
                t, x.flags, x.seq, x.ack, x.window, len(bytes(x.payload)),
                [o for o in x.options if o[0] != "NOP"]))
        else:
            out.append("@%d %s" % (t, f.summary()))
    return "[" + "; ".join(out) + "]"
