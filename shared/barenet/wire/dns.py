"""DNS messages (RFC 1035 4): header, questions, resource records, names with compression
pointers on decode (4.1.4), the TC flag that sends a resolver to TCP (4.2.1).

parse() raises only Malformed (a ValueError) for any input that breaks the format, however
mangled (fuzzed in tests/fuzz). build() writes uncompressed names: a query or a small answer
needs no compression."""

import struct

from ..compat import const
from . import Malformed

PORT = const(53)
HEADER_LEN = const(12)
TYPE_A = const(1)
TYPE_CNAME = const(5)
TYPE_PTR = const(12)
TYPE_TXT = const(16)
TYPE_SRV = const(33)
TYPE_ANY = const(255)
CLASS_IN = const(1)

QR = const(0x8000)
AA = const(0x0400)
TC = const(0x0200)
RD = const(0x0100)
RA = const(0x0080)
RCODE_MASK = const(0x000F)
NOERROR = const(0)
FORMERR = const(1)
SERVFAIL = const(2)
NXDOMAIN = const(3)

_MAX_NAME = const(255)          # RFC 1035 2.3.4: octets of a name on the wire
_MAX_LABEL = const(63)
_MAX_RECORDS = const(512)       # more than a 64 KB TCP message can hold of the smallest ones


class Message:
    """A parsed message. questions: [(name, qtype, qclass)]; answers, authority, additional:
    [(name, rtype, rclass, ttl, rdata bytes)]. Names are lower-case str without the final dot."""

    def __init__(self, ident, flags, questions, answers, authority=(), additional=()):
        self.id = ident
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional

    @property
    def rcode(self):
        return self.flags & RCODE_MASK

    @property
    def truncated(self):
        return bool(self.flags & TC)

    @property
    def response(self):
        return bool(self.flags & QR)

    def a_records(self, name):
        """[(address bytes, ttl)] of the A answers for name, following CNAMEs in the answer
        section (RFC 1034 3.6.2): a resolver asked for name, the server may answer an alias."""
        name = name.lower()
        out = []
        for _ in range(8):      # a bound on alias chains, so a CNAME loop ends
            alias = None
            for rname, rtype, rclass, ttl, rdata in self.answers:
                # the class's top bit is mDNS's cache-flush flag (RFC 6762 10.2)
                if rname != name or rclass & 0x7FFF != CLASS_IN:
                    continue
                if rtype == TYPE_A and len(rdata) == 4:
                    out.append((rdata, ttl))
                elif rtype == TYPE_CNAME and isinstance(rdata, str):
                    alias = rdata
            if out or alias is None:
                return out
            name = alias
        return out


def read_name(data, i=0):
    """The name at data[i:] -> (name, the offset just past it in the record that holds it).
    A pointer must point before the name it continues (to what is already read), so a loop
    of pointers ends."""
    labels = []
    end = None
    total = 0
    limit = i
    n = len(data)
    while True:
        if i >= n:
            raise Malformed("name")
        ln = data[i]
        if ln & 0xC0 == 0xC0:
            if i + 1 >= n:
                raise Malformed("name")
            ptr = ((ln & 0x3F) << 8) | data[i + 1]
            if ptr >= limit:
                raise Malformed("pointer")
            if end is None:
                end = i + 2
            i = limit = ptr
            continue
        if ln & 0xC0:
            raise Malformed("label")        # 0x40 and 0x80: extended labels (RFC 6891 5)
        i += 1
        if ln == 0:
            break
        total += ln + 1
        if total > _MAX_NAME or i + ln > n:
            raise Malformed("name")
        try:
            labels.append(bytes(data[i:i + ln]).decode().lower())
        except UnicodeError:
            raise Malformed("label")
        i += ln
    return ".".join(labels), (i if end is None else end)


def _record(data, i):
    name, i = read_name(data, i)
    if i + 10 > len(data):
        raise Malformed("short")
    rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, i)
    i += 10
    if i + rdlen > len(data):
        raise Malformed("rdata")
    if rtype == TYPE_CNAME or rtype == TYPE_PTR:
        rdata, e = read_name(data, i)
        if e != i + rdlen:
            raise Malformed("rdata")
    elif rtype == TYPE_SRV:
        # RFC 2782: priority, weight, port, target (a name, compressed in mDNS: RFC 6762 18.14)
        if rdlen < 7:
            raise Malformed("rdata")
        prio, weight, port = struct.unpack_from("!HHH", data, i)
        target, e = read_name(data, i + 6)
        if e != i + rdlen:
            raise Malformed("rdata")
        rdata = (prio, weight, port, target)
    else:
        rdata = bytes(data[i:i + rdlen])
    # RFC 2181 8: a TTL with the top bit set is zero
    return (name, rtype, rclass, 0 if ttl & 0x80000000 else ttl, rdata), i + rdlen


def parse(data):
    """bytes or memoryview -> Message; Malformed for anything else."""
    if len(data) < HEADER_LEN:
        raise Malformed("short")
    ident, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data, 0)
    if qd + an + ns + ar > _MAX_RECORDS:
        raise Malformed("count")
    i = HEADER_LEN
    questions = []
    for _ in range(qd):
        name, i = read_name(data, i)
        if i + 4 > len(data):
            raise Malformed("short")
        qtype, qclass = struct.unpack_from("!HH", data, i)
        i += 4
        questions.append((name, qtype, qclass))
    sections = []
    for count in (an, ns, ar):
        recs = []
        for _ in range(count):
            if i >= len(data) and flags & TC:
                break   # RFC 2181 9: a truncated message may end inside a section
            r, i = _record(data, i)
            recs.append(r)
        sections.append(recs)
    return Message(ident, flags, questions, sections[0], sections[1], sections[2])


def _emit_name(out, name):
    if name.endswith("."):
        name = name[:-1]
    total = 1
    if name:
        for label in name.split("."):
            b = label.encode()
            if not 0 < len(b) <= _MAX_LABEL:
                raise ValueError("bad label in %r" % (name,))
            out.append(len(b))
            out += b
            total += len(b) + 1
    if total > _MAX_NAME:
        raise ValueError("name too long: %r" % (name,))
    out.append(0)


def build(ident, flags, questions, answers=(), authority=(), additional=()):
    """-> bytes. questions [(name, qtype, qclass)], records [(name, rtype, rclass, ttl,
    rdata bytes)] in each section (names uncompressed, which every reader takes)."""
    out = bytearray(struct.pack("!HHHHHH", ident, flags, len(questions), len(answers),
                                len(authority), len(additional)))
    for name, qtype, qclass in questions:
        _emit_name(out, name)
        out += struct.pack("!HH", qtype, qclass)
    for section in (answers, authority, additional):
        for name, rtype, rclass, ttl, rdata in section:
            _emit_name(out, name)
            out += struct.pack("!HHIH", rtype, rclass, ttl, len(rdata))
            out += rdata
    return bytes(out)


def name_bytes(name):
    """A name as the wire has it, uncompressed (the rdata of PTR and SRV records)."""
    out = bytearray()
    _emit_name(out, name)
    return bytes(out)


def query(ident, name, qtype=TYPE_A):
    """A recursive query for one name (RFC 1035 4.1.1, RD set)."""
    return build(ident, RD, [(name, qtype, CLASS_IN)])
