"""Multicast DNS responder (RFC 6762) for HOSTNAME.local, with DNS-SD (RFC 6763) service
records. A runner task, sans-I/O and MicroPython-compatible.

    r = Responder(stack, iface, "board1", services=[("_http._tcp", 80)],
                  txt={"board": "virtual"})
    loop.add_task(r.poll)

Once the interface has an address the responder probes for its names (8.1: three queries
250 ms apart, its records in the authority section), announces them (8.3: twice, 1 s apart)
and then answers questions for them: the host's A record, and per service a PTR from the
service type to the instance `HOSTNAME._http._tcp.local`, its SRV and TXT, and the DNS-SD
enumeration PTR `_services._dns-sd._udp.local` (RFC 6763 9). A conflict (another host
answers for a name while we probe, or later claims it with other data) renames the host
`HOSTNAME-2`, `-3`... and probes again (9); two hosts probing at once are told apart by the
tiebreak of 8.2. Answers go to the group, to the asker for a QU question (5.4), or for a
legacy unicast query (a source port other than 5353) back to it with the query's id and
TTLs of at most 10 s (6.7). Known answers in the query are not repeated (7.1). An address
change starts it over (8.4); close() sends the goodbye (TTL 0, 10.1).

Counters are in stack.stats["app_mdns"]; malformed packets are counted and dropped.
"""

import struct

from . import ticks
from .addr import ip_aton
from .compat import const
from .stats import inc
from .wire import Malformed, dns as w

GROUP = "224.0.0.251"
PORT = const(5353)
_GROUP = ip_aton(GROUP)
_FLUSH = const(0x8000)        # rrclass top bit: cache-flush, on unique records (10.2)
_QU = const(0x8000)           # qclass top bit: unicast response wanted (5.4)
_RESPONSE = const(0x8400)     # QR and AA (18.2, 18.4)
TTL_HOST = const(120)         # 10: records with a host name in them (A, SRV)
TTL_OTHER = const(4500)       # 10: the others (PTR, TXT), 75 minutes
_LEGACY_TTL = const(10)       # 6.7
PROBE_WAIT_MS = const(250)    # 8.1: a random delay of up to 250 ms, then probes 250 ms apart
PROBES = const(3)
ANNOUNCES = const(2)          # 8.3
ANNOUNCE_MS = const(1000)
LOST_MS = const(1000)         # 8.2: the loser of a tiebreak probes again after 1 s
STORM_CONFLICTS = const(15)   # 8.1: after 15 conflicts in 10 s, wait 5 s between tries
STORM_MS = const(5000)
_ENUM = "_services._dns-sd._udp.local"

IDLE = "IDLE"                 # no address yet
PROBING = "PROBING"
ANNOUNCING = "ANNOUNCING"
ANNOUNCED = "ANNOUNCED"


def txt_rdata(txt):
    """RFC 6763 6: `key=value` strings, each after its length; an empty TXT is one 0."""
    out = bytearray()
    for k in sorted(txt):
        item = ("%s=%s" % (k, txt[k])).encode()
        out.append(min(len(item), 255))
        out += item[:255]
    return bytes(out) or b"\x00"


class Responder:
    name = "mdns"

    def __init__(self, stack, iface, hostname, services=(), txt=None, log=None):
        self.stack = stack
        self.iface = iface
        self.base = hostname.lower()    # names compare lower-cased (the parser's)
        self.host = self.base           # the name in use: base, or base-N after conflicts
        self.renames = 0
        self.services = list(services)  # [(service type "_http._tcp", port)]
        self.txt = txt_rdata(txt or {})
        self.log = log
        self.ep = stack.udp.bind(PORT, queue=8)
        self.ep.device = iface
        iface.join(GROUP)
        self.stats = {}
        stack.apps[self.name] = self
        self.state = IDLE
        self.next_at = None
        self.sent = 0                  # probes or announcements of the current round
        self._addr = None              # the address the records were made for
        self._records = []
        self._conflicts = []           # when recent conflicts happened (8.1's storm rule)

    # -- the names and records -----------------------------------------------------------

    def fqdn(self):
        return self.host + ".local"

    def _make_records(self):
        """[(name, type, class, ttl, rdata, unique)] for the current name and address."""
        host = self.fqdn()
        target = w.name_bytes(host)
        recs = [(host, w.TYPE_A, w.CLASS_IN, TTL_HOST, bytes(self.iface.ip), True)]
        for stype, port in self.services:
            inst = "%s.%s.local" % (self.host, stype)
            recs.append((inst, w.TYPE_SRV, w.CLASS_IN, TTL_HOST,
                         struct.pack("!HHH", 0, 0, port) + target, True))
            recs.append((inst, w.TYPE_TXT, w.CLASS_IN, TTL_OTHER, self.txt, True))
            recs.append((stype + ".local", w.TYPE_PTR, w.CLASS_IN, TTL_OTHER,
                         w.name_bytes(inst), False))
            recs.append((_ENUM, w.TYPE_PTR, w.CLASS_IN, TTL_OTHER,
                         w.name_bytes(stype + ".local"), False))
        self._records = recs

    def _unique_names(self):
        """Our unique records' names, each once (a name holds several: SRV and TXT)."""
        out = []
        for r in self._records:
            if r[5] and r[0] not in out:
                out.append(r[0])
        return out

    @staticmethod
    def _wire(r, ttl=None, flush=True):
        name, rtype, rclass, rttl, rdata, unique = r
        return (name, rtype, rclass | (_FLUSH if unique and flush else 0),
                rttl if ttl is None else ttl, rdata)

    # -- the task --------------------------------------------------------------------------

    def poll(self, now):
        for data, addr in self.ep.datagrams(8):
            self._input(data, addr, now)
        iface = self.iface
        if not (iface.configured and iface.running):
            if self.state != IDLE:
                self.state = IDLE
                self.next_at = None
            return None
        if self._addr != iface.ip:
            self._addr = bytes(iface.ip)
            self._probe_from(now, self.stack.rng.below(PROBE_WAIT_MS + 1))   # 8.4, 8.1
        if self.next_at is not None and ticks.due(self.next_at, now):
            self._timer(now)
        wait = None if self.next_at is None else ticks.until(self.next_at, now)
        return 0 if self.ep.pending() else wait

    def _probe_from(self, now, delay):
        self._make_records()
        self.state = PROBING
        self.sent = 0
        self.next_at = ticks.add(now, delay)

    def _timer(self, now):
        if self.state == PROBING:
            if self.sent < PROBES:
                self._send_probe(now)
                self.sent += 1
                self.next_at = ticks.add(now, PROBE_WAIT_MS)
                return
            self.state = ANNOUNCING
            self.sent = 0
        if self.state == ANNOUNCING:
            self._send([self._wire(r) for r in self._records], _GROUP, PORT, now)
            inc(self.stats, "announce")
            self.sent += 1
            if self.sent < ANNOUNCES:
                self.next_at = ticks.add(now, ANNOUNCE_MS)
            else:
                self.state = ANNOUNCED
                self.next_at = None
                self._say("mDNS: %s is %s" % (self.fqdn(), ".".join(str(b) for b in self._addr)))

    def _send_probe(self, now):
        # 8.1: the first probe asks for a unicast answer; the records we want go in the
        # authority section, for the tiebreak of 8.2
        qclass = w.CLASS_IN | (_QU if self.sent == 0 else 0)
        questions = [(n, w.TYPE_ANY, qclass) for n in self._unique_names()]
        auth = [self._wire(r, flush=False) for r in self._records if r[5]]
        data = w.build(0, 0, questions, authority=auth)
        self._output(data, _GROUP, PORT)
        inc(self.stats, "probe")

    def _send(self, answers, dst, dport, now, ident=0, questions=(), additional=()):
        self._output(w.build(ident, _RESPONSE, list(questions), answers, (), additional),
                     dst, dport)

    def _output(self, data, dst, dport):
        try:
            # 11: IP TTL 255 on everything sent, so receivers can tell on-link senders
            self.stack.udp.output(self.iface.ip, PORT, dst, dport, data, ttl=255,
                                  via=self.iface)
        except OSError:
            inc(self.stats, "tx_error")

    # -- input -----------------------------------------------------------------------------

    def _input(self, data, addr, now):
        try:
            m = w.parse(data)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        except (ValueError, IndexError):
            inc(self.stats, "drop_malformed")
            return
        if self.state == IDLE:
            return
        if m.response:
            self._response(m, now)
        else:
            self._query(m, addr, now)

    def _mine(self, name):
        return name in self._unique_names()

    def _response(self, m, now):
        """Another host's answer: a conflict if it claims one of our unique names with other
        data (9). Our own data (a cache's echo, our own announcement) is no conflict."""
        for rec in m.answers + m.additional:
            name, rtype, rclass, ttl, rdata = rec
            if not self._mine(name) or ttl == 0:
                continue
            ours = [r for r in self._records if r[0] == name and r[1] == rtype and r[5]]
            if any(_same(r[4], rdata, rtype) for r in ours):
                continue
            if ours or self.state == PROBING:
                self._conflict(name, now)
                return

    def _conflict(self, name, now):
        inc(self.stats, "conflict")
        self._conflicts = [t for t in self._conflicts if ticks.diff(now, t) < 10000] + [now]
        if self.state == PROBING:
            # 9: a name that another host answers for while we probe is theirs: rename
            self.renames += 1
            old = self.fqdn()
            self.host = "%s-%d" % (self.base, self.renames + 1)
            self._say("mDNS: %s is taken, trying %s" % (old, self.fqdn()))
        else:
            self._say("mDNS: %s is claimed by another host: probing again" % self.fqdn())
        delay = STORM_MS if len(self._conflicts) >= STORM_CONFLICTS else 0
        self._probe_from(now, delay)

    def _query(self, m, addr, now):
        if self.state == PROBING:
            self._tiebreak(m, now)
            return
        legacy = addr[1] != PORT
        known = [(r[0], r[1], _raw(r[4], r[1])) for r in m.answers]
        answers = []
        unicast = legacy
        for qname, qtype, qclass in m.questions:
            if qclass & 0x7FFF not in (w.CLASS_IN, 255):
                continue
            for r in self._records:
                if r[0] != qname or (qtype != r[1] and qtype != w.TYPE_ANY):
                    continue
                if (r[0], r[1], r[4]) in known:
                    inc(self.stats, "known_answer")     # 7.1: the asker has it
                    continue
                if r not in answers:
                    answers.append(r)
                    if qclass & _QU:
                        unicast = True
        if not answers:
            return
        inc(self.stats, "answer")
        extra = self._additional(answers)
        if legacy:
            # 6.7: back to the asker, with its id and question, TTLs capped, no cache flush
            self._send([self._wire(r, min(r[3], _LEGACY_TTL), False) for r in answers],
                       ip_aton(addr[0]), addr[1], now, m.id, m.questions,
                       [self._wire(r, min(r[3], _LEGACY_TTL), False) for r in extra])
            return
        dst = ip_aton(addr[0]) if unicast else _GROUP
        self._send([self._wire(r) for r in answers], dst, PORT, now,
                   additional=[self._wire(r) for r in extra])

    def _additional(self, answers):
        """6.1 / RFC 6763 12: with a PTR the SRV, TXT and A it leads to; with an SRV the A."""
        names = []
        for r in answers:
            if r[1] == w.TYPE_PTR:
                names.append(w.read_name(r[4])[0])     # ours, built uncompressed
            if r[1] in (w.TYPE_PTR, w.TYPE_SRV):
                names.append(self.fqdn())
        return [r for r in self._records if r[0] in names and r not in answers and r[5]]

    def _tiebreak(self, m, now):
        """8.2: another host probes for one of our names at the same time. The records
        proposed in the authority sections are compared (class, type, rdata); the host with
        the lexicographically later data wins, and the loser probes again in 1 s."""
        for name in self._unique_names():
            if not any(q[0] == name for q in m.questions):
                continue
            theirs = sorted((r[2] & 0x7FFF, r[1], _raw(r[4], r[1])) for r in m.authority
                            if r[0] == name)
            if not theirs:
                continue
            ours = sorted((r[2], r[1], r[4]) for r in self._records if r[0] == name)
            if theirs > ours:
                inc(self.stats, "tiebreak_lost")
                self._probe_from(now, LOST_MS)
                return

    def close(self, now=None):
        """The goodbye (10.1): every record with TTL 0, so caches drop them at once."""
        if self.state in (ANNOUNCING, ANNOUNCED):
            self._send([self._wire(r, 0) for r in self._records], _GROUP, PORT, now)
        self.iface.leave(GROUP)
        self.ep.close()
        self.stack.apps.pop(self.name, None)

    def _say(self, line):
        if self.log is not None:
            self.log(line)

    def info(self):
        return {"state": self.state, "name": self.fqdn(), "renames": self.renames,
                "services": ["%s:%d" % s for s in self.services], "stats": dict(self.stats)}


def _raw(rdata, rtype):
    """Parsed rdata back to wire bytes, to compare with ours (the parser decodes PTR and SRV
    names; names compare lower-cased and uncompressed)."""
    if rtype == w.TYPE_PTR or rtype == w.TYPE_CNAME:
        return w.name_bytes(rdata)
    if rtype == w.TYPE_SRV:
        return struct.pack("!HHH", rdata[0], rdata[1], rdata[2]) + w.name_bytes(rdata[3])
    return bytes(rdata)


def _same(ours, theirs, rtype):
    return _raw(theirs, rtype) == ours
