"""A name server for resolver tests: a barenet stack on the virtual wire answering UDP and TCP
port 53 with messages that scapy builds and compresses (an encoder independent of
barenet.wire.dns). Each name maps to what the server does with a query for it:

    ["192.0.2.9", ...]   A records (an answer over 512 bytes is truncated over UDP: TC set,
                         no records, as RFC 1035 4.2.1 asks; the whole answer over TCP)
    "nxdomain" | "nodata" | "servfail"
    ("drop", n)          the first n UDP queries go unanswered, then NOERROR with 192.0.2.77
"""

from scapy.layers.dns import DNS, DNSQR, DNSRR, dns_compress

UDP_MAX = 512   # RFC 1035 2.3.4, without EDNS0


class NameServer:
    def __init__(self, sim, wire, ip="192.0.2.53", mac="02:00:00:00:00:35", zone=None, ttl=60):
        self.stack, self.iface = sim.host(wire, mac, ip + "/24", profile="host")
        self.zone = dict(zone or {})
        self.ttl = ttl
        self.udp = self.stack.udp.bind(53, queue=16)
        self.tcp = self.stack.tcp.listen(53)
        self.conns = []
        self.queries = []       # (transport, name) of every query seen
        sim.add_task(self.poll, self.stack)

    def answer(self, query, transport):
        q = DNS(query)
        name = q.qd[0].qname.decode().rstrip(".")
        self.queries.append((transport, name))
        what = self.zone.get(name, "nxdomain")
        if isinstance(what, tuple):
            if what[1] > 0 and transport == "udp":
                self.zone[name] = ("drop", what[1] - 1)
                return None
            what = ["192.0.2.77"]
        r = DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=1, qd=DNSQR(qname=name))
        if what == "nxdomain":
            r.rcode = 3
        elif what == "servfail":
            r.rcode = 2
        elif what != "nodata":
            r.an = [DNSRR(rrname=name, type="A", ttl=self.ttl, rdata=a) for a in what]
        raw = bytes(dns_compress(r))
        if transport == "udp" and len(raw) > UDP_MAX:
            raw = bytes(DNS(id=q.id, qr=1, aa=1, tc=1, rd=q.rd, ra=1, qd=DNSQR(qname=name)))
        return raw

    def poll(self, now):
        while True:
            got = self.udp.recvfrom()
            if got is None:
                break
            r = self.answer(got[0], "udp")
            if r is not None:
                self.udp.sendto(r, got[1])
        c = self.tcp.accept()
        while c is not None:
            self.conns.append([c, b""])
            c = self.tcp.accept()
        for entry in list(self.conns):
            c = entry[0]
            d = c.recv(65535)
            if d:
                entry[1] += d
            buf = entry[1]
            if len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                n = int.from_bytes(buf[:2], "big")
                r = self.answer(buf[2:2 + n], "tcp")
                c.send(len(r).to_bytes(2, "big") + r)
                c.close()
                self.conns.remove(entry)
            elif d == b"":
                c.close()
                self.conns.remove(entry)
        return None
