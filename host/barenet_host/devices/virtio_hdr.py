"""struct virtio_net_hdr, the 10 bytes before every frame on a TAP opened with IFF_VNET_HDR
(linux/virtio_net.h; the virtio 1.x spec, 5.1.6 "Device Operation"). All fields are in the
host's byte order on a legacy (non-virtio-1) TAP, as Linux's tun uses them by default.

    flags       NEEDS_CSUM: the transport checksum holds only the pseudo-header sum; the
                receiver completes it over [csum_start:] into csum_start + csum_offset.
                DATA_VALID: the checksums were verified (or the frame never left the host).
    gso_type    NONE, or TCPV4: a TCP super-frame to cut into segments of gso_size payload
                bytes, each behind a copy of the first hdr_len bytes of headers.
"""

import struct

LEN = 10
F_NEEDS_CSUM = 1
F_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
_FMT = "=BBHHHH"
# A frame needing nothing: complete checksums, no segmentation.
PLAIN = bytes(LEN)


class Header:
    __slots__ = ("flags", "gso_type", "hdr_len", "gso_size", "csum_start", "csum_offset")

    def __init__(self, flags=0, gso_type=GSO_NONE, hdr_len=0, gso_size=0, csum_start=0,
                 csum_offset=0):
        self.flags = flags
        self.gso_type = gso_type
        self.hdr_len = hdr_len
        self.gso_size = gso_size
        self.csum_start = csum_start
        self.csum_offset = csum_offset

    def __eq__(self, other):
        return isinstance(other, Header) and all(
            getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self):
        return "Header(%s)" % ", ".join("%s=%d" % (f, getattr(self, f)) for f in self.__slots__)

    @property
    def csum_trusted(self):
        """True when the receiver need not verify the transport checksum: the kernel checked
        it (DATA_VALID), or the frame is the host's own and never crossed a wire (NEEDS_CSUM:
        the field holds no checksum yet)."""
        return bool(self.flags & (F_NEEDS_CSUM | F_DATA_VALID))


def pack(h):
    return struct.pack(_FMT, h.flags, h.gso_type, h.hdr_len, h.gso_size, h.csum_start,
                       h.csum_offset)


def unpack(data):
    """The first LEN bytes of data -> Header; ValueError when shorter."""
    if len(data) < LEN:
        raise ValueError("virtio_net_hdr needs %d bytes, got %d" % (LEN, len(data)))
    return Header(*struct.unpack_from(_FMT, data, 0))


def trusted(data):
    """csum_trusted of the header in data's first bytes, without making a Header (per frame)."""
    return bool(data[0] & (F_NEEDS_CSUM | F_DATA_VALID))
