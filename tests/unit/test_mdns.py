"""The mDNS responder (barenet/mdns.py, RFC 6762 / RFC 6763) on the virtual wire, in virtual
time: probes and announcements at the RFC's times, read back with scapy (an independent
decoder); answers to QM, QU and legacy unicast queries; two hosts with one name end with two
names; malformed packets are counted and dropped. avahi against it: tests/interop/test_mdns_avahi.py."""

from hypothesis import given, settings, strategies as st
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from barenet import mdns
from barenet.wire import dns as w
from barenet_host.vwire import Sim


class World:
    def __init__(self, names=("board1",), seed=1):
        self.sim = sim = Sim(start_ms=(1 << 30) - 1000)     # across the tick wrap
        self.wire = wire = sim.wire()
        self.frames = []
        sniff = wire.nic()
        sniff.on_frame = lambda frame, now: self.frames.append((sim.ms, bytes(frame)))
        self.responders = []
        for i, name in enumerate(names):
            stack, iface = sim.host(wire, "02:00:00:00:00:%02x" % (i + 2), "192.0.2.%d/24" % (i + 2),
                                    seed=seed + i)
            r = mdns.Responder(stack, iface, name, services=[("_http._tcp", 80)],
                               txt={"board": "virtual"})
            sim.add_task(r.poll, stack)
            self.responders.append(r)
        self.asker, self.aif = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", seed=99)
        self.ep = self.asker.udp.bind(5353, queue=64)
        self.aif.join(mdns.GROUP)

    def run_until(self, pred, max_ms=20000):
        assert self.sim.run(until=pred, max_ms=max_ms)
        self.sim.settle()       # what the last step sent reaches the sniffer

    def mdns_sent(self, src):
        out = []
        for t, f in self.frames:
            e = Ether(f)
            if e.haslayer(UDP) and e[UDP].sport == 5353 and e[IP].src == src:
                out.append((t, e))
        return out

    def ask(self, name, qtype=w.TYPE_A, qclass=w.CLASS_IN, sport=5353, dst=mdns.GROUP):
        ep = self.ep if sport == 5353 else self.asker.udp.bind(sport)
        ep.datagrams(64)        # what came before (announcements) is not the answer
        ep.sendto(w.build(0x1234 if sport != 5353 else 0, 0, [(name, qtype, qclass)]),
                  (dst, 5353))
        got = []

        def answered():
            for d in ep.datagrams(64):
                if w.parse(d[0]).response:
                    got.append(d)
            return bool(got)
        self.run_until(answered, 3000)
        return w.parse(got[0][0]), got[0][1]


def test_probes_then_announces_at_the_rfc_times_and_scapy_reads_them():
    wd = World()
    r = wd.responders[0]
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    sent = wd.mdns_sent("192.0.2.2")
    probes = [(t, e) for t, e in sent if e[DNS].qr == 0]
    announces = [(t, e) for t, e in sent if e[DNS].qr == 1]
    assert len(probes) == 3 and len(announces) == 2
    # 8.1: 250 ms apart, the first asking for a unicast answer (QU), our A in authority
    assert [b[0] - a[0] for a, b in zip(probes, probes[1:])] == [250, 250]
    first = probes[0][1][DNS]
    assert first.qd[0].qname == b"board1.local." and first.qd[0].qtype == 255
    assert first.qd[0].unicastresponse == 1 and probes[1][1][DNS].qd[0].unicastresponse == 0
    assert first.ns[0].rrname == b"board1.local." and first.ns[0].rdata == "192.0.2.2"
    # 8.3: two announcements 1 s apart, unique records with cache-flush; IP TTL 255 (11)
    assert announces[1][0] - announces[0][0] == 1000
    a = announces[0][1]
    assert a[IP].dst == "224.0.0.251" and a[IP].ttl == 255 and a.dst == "01:00:5e:00:00:fb"
    recs = {(x.rrname, x.type): x for x in a[DNS].an}
    assert recs[(b"board1.local.", 1)].rdata == "192.0.2.2"
    assert recs[(b"board1.local.", 1)].cacheflush == 1 and recs[(b"board1.local.", 1)].ttl == 120
    srv = recs[(b"board1._http._tcp.local.", 33)]
    assert (srv.port, srv.target) == (80, b"board1.local.")
    assert recs[(b"board1._http._tcp.local.", 16)].rdata == [b"board=virtual"]
    assert recs[(b"_http._tcp.local.", 12)].rdata == b"board1._http._tcp.local."
    assert recs[(b"_http._tcp.local.", 12)].cacheflush == 0    # shared: no cache flush
    assert recs[(b"_services._dns-sd._udp.local.", 12)].rdata == b"_http._tcp.local."


def test_answers_qm_to_the_group_qu_and_legacy_to_the_asker():
    wd = World()
    r = wd.responders[0]
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    m, src = wd.ask("board1.local")
    assert m.a_records("board1.local") == [(bytes([192, 0, 2, 2]), 120)]
    ptr, _ = wd.ask("_http._tcp.local", w.TYPE_PTR)
    assert [a[4] for a in ptr.answers] == ["board1._http._tcp.local"]
    # the SRV, TXT and A it leads to come along (RFC 6763 12.1)
    assert {(a[0], a[1]) for a in ptr.additional} == {
        ("board1._http._tcp.local", w.TYPE_SRV), ("board1._http._tcp.local", w.TYPE_TXT),
        ("board1.local", w.TYPE_A)}
    qu, _ = wd.ask("board1.local", qclass=w.CLASS_IN | 0x8000)
    assert qu.answers
    legacy, src = wd.ask("board1.local", sport=40000, dst="192.0.2.2")
    assert legacy.id == 0x1234 and legacy.questions[0][0] == "board1.local"
    assert legacy.answers[0][3] == 10 and legacy.answers[0][2] == w.CLASS_IN     # 6.7
    assert r.stats["answer"] == 4


def test_two_hosts_with_one_name_end_with_two_names():
    wd = World(names=("twin", "twin"))
    a, b = wd.responders
    wd.run_until(lambda: a.state == b.state == mdns.ANNOUNCED, 30000)
    assert sorted([a.fqdn(), b.fqdn()]) == ["twin-2.local", "twin.local"]
    loser = a if a.renames else b
    assert loser.stats.get("tiebreak_lost", 0) + loser.stats.get("conflict", 0) >= 1
    m, _ = wd.ask("twin-2.local")
    assert m.a_records("twin-2.local") == [(bytes(loser.iface.ip), 120)]


def test_a_host_that_claims_our_name_later_makes_us_probe_and_rename():
    wd = World()
    r = wd.responders[0]
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    intruder = w.build(0, 0x8400, [], [("board1.local", w.TYPE_A, w.CLASS_IN | 0x8000, 120,
                                        bytes([192, 0, 2, 1]))])
    wd.ep.sendto(intruder, (mdns.GROUP, 5353))
    wd.run_until(lambda: r.state == mdns.PROBING, 2000)
    # while it probes, the intruder answers for the name again: it is theirs
    wd.ep.sendto(intruder, (mdns.GROUP, 5353))
    wd.run_until(lambda: r.state == mdns.ANNOUNCED and r.renames == 1, 10000)
    assert r.fqdn() == "board1-2.local"


def test_known_answers_are_not_repeated_and_goodbye_has_ttl_0():
    wd = World()
    r = wd.responders[0]
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    known = w.build(0, 0, [("board1.local", w.TYPE_A, w.CLASS_IN)],
                    [("board1.local", w.TYPE_A, w.CLASS_IN, 120, bytes([192, 0, 2, 2]))])
    wd.ep.sendto(known, (mdns.GROUP, 5353))
    wd.sim.run(until=lambda: r.stats.get("known_answer"), max_ms=1000)
    assert r.stats["known_answer"] == 1 and "answer" not in r.stats
    n = len(wd.frames)
    r.close(wd.sim.ms)
    wd.sim.settle()
    bye = [Ether(f) for _, f in wd.frames[n:]]
    assert bye and all(x.ttl == 0 for x in bye[0][DNS].an)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_packet_leaves_the_responder_sound(data):
    wd = World.__new__(World)
    World.__init__(wd)
    r = wd.responders[0]
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    wd.ep.sendto(data, (mdns.GROUP, 5353))
    wd.sim.run(until=lambda: False, max_ms=300)
    assert r.state in (mdns.ANNOUNCED, mdns.PROBING, mdns.ANNOUNCING)
    m, _ = wd.ask(r.fqdn())
    assert m.answers


_NAMES = st.sampled_from(["board1.local", "board1._http._tcp.local", "_http._tcp.local",
                          "_services._dns-sd._udp.local", "board1-2.local", "other.local", ""])
_TYPES = st.sampled_from([w.TYPE_A, w.TYPE_PTR, w.TYPE_TXT, w.TYPE_SRV, w.TYPE_ANY, 28, 47])
_CLASSES = st.sampled_from([w.CLASS_IN, w.CLASS_IN | 0x8000, 255, 3])
_RDATA = st.one_of(st.binary(max_size=24), st.just(bytes([192, 0, 2, 2])),
                   st.just(bytes([192, 0, 2, 77])), _NAMES.map(w.name_bytes),
                   _NAMES.map(lambda n: b"\x00\x00\x00\x00\x00\x50" + w.name_bytes(n)))
_RECORDS = st.lists(st.tuples(_NAMES, _TYPES, _CLASSES, st.integers(0, 2 ** 32 - 1), _RDATA),
                    max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([0, w.QR | 0x0400, w.QR, 0x7800, 0xFFFF]),
       st.lists(st.tuples(_NAMES, _TYPES, _CLASSES), max_size=4), _RECORDS, _RECORDS, _RECORDS,
       st.sampled_from([5353, 40000]), st.sampled_from([mdns.GROUP, "192.0.2.2"]))
def test_any_well_formed_message_about_our_names_leaves_the_responder_sound(
        flags, questions, answers, authority, additional, sport, dst):
    # Unlike random bytes, these parse: queries and responses about our own names (and
    # others) with any types, classes (QU, cache-flush), TTLs and rdata, short or wrong for
    # its type, conflicting or not, from port 5353 or a legacy unicast one. Nothing raises
    # out of the stack, and the responder ends announced under a name it answers for (a
    # conflict renames it, RFC 6762 9)
    wd = World()
    r = wd.responders[0]
    stack = r.stack
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    ep = wd.ep if sport == 5353 else wd.asker.udp.bind(sport)
    ep.sendto(w.build(0x4242, flags, questions, answers, authority, additional), (dst, 5353))
    wd.sim.run(until=lambda: False, max_ms=300)
    assert stack.stats["stack"].get("drop_internal_error") is None, stack.last_error
    wd.run_until(lambda: r.state == mdns.ANNOUNCED)
    m, _ = wd.ask(r.fqdn())
    assert m.answers and m.answers[0][4] == bytes([192, 0, 2, 2])
