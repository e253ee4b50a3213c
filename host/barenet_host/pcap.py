"""Classic libpcap capture files, and a NIC wrapper that records the frames passing through it;
read() takes such files back, as barenet and other tools write them (`barenet plot`).

Format: https://wiki.wireshark.org/Development/LibpcapFileFormat (the "classic" format, magic
0xa1b2c3d4, microsecond timestamps, written little-endian). Like smoltcp's PcapWriter
(phy/pcap_writer.rs) the recorder is device middleware with the NIC's own interface.
CPython only.
"""

import struct

from barenet import ticks
from barenet.nic import ETHERNET, IP

from barenet_host.observe import ObservingNIC

MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # bare IPv4/IPv6 packets (tcpdump.org/linktypes.html): TUN and SLIP links
_GLOBAL = struct.Struct("<IHHiIII")  # magic, version 2.4, thiszone, sigfigs, snaplen, linktype
_RECORD = struct.Struct("<IIII")  # ts_sec, ts_usec, incl_len, orig_len


class PcapWriter:
    """Writes one capture; timestamps come from the wrapping ms clock handed to write().

    The first write's now_ms is taken as the time since the epoch; later ones advance by the
    wrap-safe difference, so a capture stays monotonic across the 2**30 ms tick wrap.
    """

    def __init__(self, path_or_fileobj, linktype=LINKTYPE_ETHERNET, snaplen=65535):
        if hasattr(path_or_fileobj, "write"):
            self._f = path_or_fileobj
            self._own = False
        else:
            self._f = open(path_or_fileobj, "wb")
            self._own = True
        self.snaplen = snaplen
        self._last = None
        self._ms = 0
        self.frames = 0
        self._f.write(_GLOBAL.pack(MAGIC, 2, 4, 0, 0, snaplen, linktype))

    def write(self, frame, now_ms):
        if self._last is None:
            self._ms = now_ms
        else:
            self._ms += ticks.diff(now_ms, self._last)
        self._last = now_ms
        ms = self._ms if self._ms > 0 else 0
        n = len(frame)
        kept = n if n <= self.snaplen else self.snaplen
        self._f.write(_RECORD.pack(ms // 1000, (ms % 1000) * 1000, kept, n))
        self._f.write(bytes(frame[:kept]))
        self.frames += 1

    def flush(self):
        self._f.flush()

    def close(self):
        if self._own:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PcapNIC(ObservingNIC):
    """Records every frame sent through it and every frame read with recv_into(), stamped
    with the time of the loop step (its poll(now_ms)): a pull NIC like the one it wraps.
    With flush, each record reaches the file at once, so a capture can be read while the
    link runs (tshark -r on a live serve) and survives a kill."""

    def __init__(self, nic, writer, flush=False):
        ObservingNIC.__init__(self, nic)
        self.writer = writer
        self.flush = flush

    def observe(self, outgoing, frame, now_ms):
        self.writer.write(frame, now_ms)
        if self.flush:
            self.writer.flush()


def linktype(nic):
    """The link type a capture of nic's frames has: Ethernet, or raw IPv4 for `ip` links."""
    return LINKTYPE_RAW if getattr(nic, "link", ETHERNET) == IP else LINKTYPE_ETHERNET


# Classic pcap as other tools write it: magic as read -> byte order, stamp fraction units per µs
# (microsecond files 1; nanosecond ones, magic 0xa1b23c4d, 1000).
_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
           b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000)}
_PCAPNG = b"\x0a\x0d\x0d\x0a"


def read(f):
    """A classic pcap file object -> (linktype, iterator of (time in µs, frame bytes, its length
    on the wire)): the bytes are fewer than that where the capture's snaplen cut the frame.

    Raises ValueError with a one-line reason for what is not such a file; the iterator raises
    it for a record cut short.
    """
    head = f.read(_GLOBAL.size)
    if head[:4] == _PCAPNG:
        raise ValueError("a pcapng file; convert it with `editcap -F pcap IN OUT`")
    if len(head) < _GLOBAL.size or head[:4] not in _MAGICS:
        raise ValueError("not a pcap file")
    order, per_us = _MAGICS[head[:4]]
    linktype = struct.unpack(order + "I", head[20:24])[0] & 0x0FFFFFFF  # high bits: FCS info
    record = struct.Struct(order + "IIII")

    def frames():
        while True:
            rec = f.read(record.size)
            if not rec:
                return
            if len(rec) < record.size:
                raise ValueError("a record header is cut short")
            sec, frac, kept, orig = record.unpack(rec)
            data = f.read(kept)
            if len(data) < kept:
                raise ValueError("a frame is cut short")
            yield sec * 1000000 + frac // per_us, data, orig

    return linktype, frames()
