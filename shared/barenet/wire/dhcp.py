"""DHCP messages (RFC 2131 2, options RFC 2132): the BOOTP fixed header, the magic cookie and
the options, for the client (barenet/dhcp.py) and the gateway's server (barenet_host.nat).

parse() reads a message into a Message; build() writes one. Not a hot path (a few messages a
lease), so a Message holds plain bytes and an options dict."""

import struct

from ..compat import const
from . import Malformed

CLIENT_PORT = const(68)
SERVER_PORT = const(67)
BOOTREQUEST = const(1)
BOOTREPLY = const(2)
FLAG_BROADCAST = const(0x8000)  # RFC 2131 4.1: "answer by broadcast, I have no address yet"
HTYPE_ETHERNET = const(1)

# Message types (option 53, RFC 2132 9.6)
DISCOVER = const(1)
OFFER = const(2)
REQUEST = const(3)
DECLINE = const(4)
ACK = const(5)
NAK = const(6)
RELEASE = const(7)
INFORM = const(8)

# Options (RFC 2132)
OPT_PAD = const(0)
OPT_SUBNET_MASK = const(1)
OPT_ROUTER = const(3)
OPT_DNS = const(6)
OPT_HOSTNAME = const(12)
OPT_REQUESTED_IP = const(50)
OPT_LEASE_TIME = const(51)
OPT_MSG_TYPE = const(53)
OPT_SERVER_ID = const(54)
OPT_PARAMS = const(55)
OPT_MESSAGE = const(56)
OPT_T1 = const(58)
OPT_T2 = const(59)
OPT_CLIENT_ID = const(61)
OPT_END = const(255)

_FIXED = const(236)             # op .. file (RFC 2131 2, figure 1)
_COOKIE = b"\x63\x82\x53\x63"   # RFC 2131 3: 99.130.83.99
MIN_LEN = const(300)            # RFC 1542 2.1: relays may drop shorter BOOTP messages
_ANY = b"\x00\x00\x00\x00"


class Message:
    """One DHCP message. Addresses are 4-byte bytes, chaddr the client's hardware address
    (hlen bytes), options {code: bytes}; `type` is option 53 (None if absent)."""

    def __init__(self, op, xid, chaddr, options, ciaddr=_ANY, yiaddr=_ANY, siaddr=_ANY,
                 giaddr=_ANY, flags=0, secs=0, htype=HTYPE_ETHERNET):
        self.op = op
        self.xid = xid
        self.chaddr = chaddr
        self.options = options
        self.ciaddr = ciaddr
        self.yiaddr = yiaddr
        self.siaddr = siaddr
        self.giaddr = giaddr
        self.flags = flags
        self.secs = secs
        self.htype = htype

    @property
    def type(self):
        t = self.options.get(OPT_MSG_TYPE)
        return t[0] if t else None

    def addr(self, code):
        """The first address of an address option, or None (absent or malformed)."""
        v = self.options.get(code)
        return bytes(v[0:4]) if v is not None and len(v) >= 4 else None

    def addrs(self, code):
        """Every address of a list option (routers, DNS servers, RFC 2132 3.5 / 3.8)."""
        v = self.options.get(code) or b""
        return [bytes(v[i:i + 4]) for i in range(0, len(v) - 3, 4)]

    def u32(self, code):
        v = self.options.get(code)
        if v is None or len(v) != 4:
            return None
        return struct.unpack("!I", v)[0]


def parse(data):
    """bytes or memoryview of a UDP payload -> Message; Malformed (a ValueError) if it is not
    a DHCP message. Option overload (52) and relays are not supported: its fields are ignored."""
    n = len(data)
    if n < _FIXED + 4:
        raise Malformed("short")
    op, htype, hlen, _hops, xid, secs, flags = struct.unpack_from("!BBBBIHH", data, 0)
    if op != BOOTREQUEST and op != BOOTREPLY:
        raise Malformed("op")
    if hlen > 16:
        raise Malformed("hlen")
    if bytes(data[_FIXED:_FIXED + 4]) != _COOKIE:
        raise Malformed("cookie")
    opts = {}
    i = _FIXED + 4
    while i < n:
        code = data[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END:
            break
        if i + 1 >= n:
            raise Malformed("option")
        ln = data[i + 1]
        if i + 2 + ln > n:
            raise Malformed("option")
        v = bytes(data[i + 2:i + 2 + ln])
        # RFC 3396 2: an option split in pieces is their concatenation
        opts[code] = opts[code] + v if code in opts else v
        i += 2 + ln
    t = opts.get(OPT_MSG_TYPE)
    if t is not None and len(t) != 1:
        raise Malformed("msg_type")
    return Message(op, xid, bytes(data[28:28 + hlen]), opts, bytes(data[12:16]),
                   bytes(data[16:20]), bytes(data[20:24]), bytes(data[24:28]), flags, secs,
                   htype)


def build(m):
    """Message -> bytes, padded to the BOOTP minimum. The message type goes first (a
    MicroPython dict keeps no order); values longer than 255 bytes are split (RFC 3396)."""
    out = bytearray(_FIXED)
    ch = m.chaddr
    if len(ch) > 16:
        raise ValueError("chaddr longer than 16 bytes")
    struct.pack_into("!BBBBIHH", out, 0, m.op, m.htype, len(ch), 0, m.xid, m.secs, m.flags)
    out[12:16] = m.ciaddr
    out[16:20] = m.yiaddr
    out[20:24] = m.siaddr
    out[24:28] = m.giaddr
    out[28:28 + len(ch)] = ch
    out += _COOKIE
    opts = m.options
    codes = [c for c in opts if c != OPT_MSG_TYPE]
    if OPT_MSG_TYPE in opts:
        codes.insert(0, OPT_MSG_TYPE)
    for code in codes:
        v = opts[code]
        if not 0 < code < 255:
            raise ValueError("option code %r" % (code,))
        for i in range(0, max(len(v), 1), 255):
            piece = v[i:i + 255]
            out.append(code)
            out.append(len(piece))
            out += piece
    out.append(OPT_END)
    if len(out) < MIN_LEN:
        out += bytes(MIN_LEN - len(out))
    return bytes(out)


def u32(x):
    """An option value holding one 32-bit number (lease time, T1, T2)."""
    return struct.pack("!I", x)
