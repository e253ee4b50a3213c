"""IPv4 and MAC address conversions: addresses inside the core are 4- and 6-byte `bytes`."""


def ip_aton(s):
    """'192.0.2.1' or 4 bytes -> 4 bytes; ValueError for anything else."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        if len(s) != 4:
            raise ValueError("IPv4 address must be 4 bytes")
        return bytes(s)
    parts = s.split(".")
    if len(parts) != 4:
        raise ValueError("invalid IPv4 address: %r" % (s,))
    out = bytearray(4)
    for i in range(4):
        p = parts[i]
        if not p.isdigit() or len(p) > 3 or int(p) > 255:
            raise ValueError("invalid IPv4 address: %r" % (s,))
        out[i] = int(p)
    return bytes(out)


def is_multicast(ip):
    """ip (4 bytes) is an IPv4 multicast group: class D, 224.0.0.0/4 (RFC 1112 4)."""
    return 224 <= ip[0] <= 239


def ip_ntoa(b):
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def parse_cidr(s):
    """'192.0.2.2/24' -> (address bytes, prefix length)."""
    if "/" in s:
        a, p = s.split("/", 1)
        if not p.isdigit() or int(p) > 32:
            raise ValueError("invalid prefix length in %r" % (s,))
        return ip_aton(a), int(p)
    return ip_aton(s), 32


def prefix_mask(prefix):
    m = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return m.to_bytes(4, "big")


def and4(a, m):
    return bytes((a[0] & m[0], a[1] & m[1], a[2] & m[2], a[3] & m[3]))


def mac_aton(s):
    """'02:00:00:00:00:02' or 6 bytes -> 6 bytes."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        if len(s) != 6:
            raise ValueError("MAC address must be 6 bytes")
        return bytes(s)
    parts = s.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError("invalid MAC address: %r" % (s,))
    try:
        out = bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError("invalid MAC address: %r" % (s,))
    if any(len(p) == 0 or len(p) > 2 for p in parts):
        raise ValueError("invalid MAC address: %r" % (s,))
    return out


def mac_ntoa(b):
    return ":".join("%02x" % x for x in b)


BROADCAST_MAC = b"\xff\xff\xff\xff\xff\xff"
ZERO_MAC = b"\x00\x00\x00\x00\x00\x00"
LIMITED_BROADCAST = b"\xff\xff\xff\xff"
ANY = b"\x00\x00\x00\x00"
