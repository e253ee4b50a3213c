"""Classic libpcap capture files, and a NIC wrapper that records the frames passing through it.

Format: https://wiki.wireshark.org/Development/LibpcapFileFormat (the "classic" format, magic
0xa1b2c3d4, microsecond timestamps, written little-endian). Like smoltcp's PcapWriter
(phy/pcap_writer.rs) the recorder is device middleware with the NIC's own interface.
CPython only.
"""

import struct

from barenet import ticks

MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
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


class PcapNIC:
    """Records every frame sent through it and every frame read with recv_into().

    clock() -> now_ms stamps those frames. Frames that reach the stack some other way (a push
    NIC, a FaultyNIC's rx path) are recorded with record_rx(frame, now_ms); do not call it for
    frames that came through this object's recv_into(), they are recorded already.
    """

    def __init__(self, nic, writer, clock):
        self.nic = nic
        self.writer = writer
        self.clock = clock

    def send(self, frame):
        self.writer.write(frame, self.clock())
        self.nic.send(frame)

    def record_rx(self, frame, now_ms):
        self.writer.write(frame, now_ms)

    def recv_into(self, buf):
        n = self.nic.recv_into(buf)
        if n:
            self.writer.write(memoryview(buf)[:n], self.clock())
        return n

    def fileno(self):
        return self.nic.fileno()
