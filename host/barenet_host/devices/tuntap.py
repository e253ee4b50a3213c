"""What TAP and TUN devices share: the interface-name rules, opening /dev/net/tun with
TUNSETIFF, the one-line errors, and the NIC protocol over the fd (barenet/nic.py).

A TAP carries Ethernet frames, a TUN bare IP datagrams (Documentation/networking/tuntap.rst);
both are opened without the 4-byte packet-information prefix (IFF_NO_PI), so a read or write
is exactly one frame. tap.py and tun.py say which mode and link type.
"""

import errno
import fcntl
import os
import select
import struct

from barenet_host.devices import virtio_hdr

TUN_PATH = "/dev/net/tun"
# linux/if_tun.h: _IOW('T', 202, int)
_TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000  # frames without the 4-byte packet-information prefix
# Each frame read or written starts with a struct virtio_net_hdr (virtio_hdr.py): the
# checksum and segmentation offload facts (Documentation/networking/tuntap.rst, "3.3").
IFF_VNET_HDR = 0x4000
# linux/if_tun.h: _IOW('T', 208, unsigned int); the offloads this reader accepts in frames
# the kernel hands it (TUN_F_CSUM: checksums left to the reader; TUN_F_TSO4: IPv4 TCP
# super-frames up to 64 KB).
_TUNSETOFFLOAD = 0x400454D0
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
_IFNAMSIZ = 16  # includes the terminating NUL, so names have at most 15 bytes
_IFREQ_SIZE = 40
_MODE_NAME = {IFF_TAP: "tap", IFF_TUN: "tun"}


def check_name(name, kind="interface"):
    """Raise OSError(EINVAL) unless name is a valid Linux interface name; kind ("TAP",
    "TUN") names it in the message."""
    if not isinstance(name, str):
        raise OSError(errno.EINVAL, "%s name must be a string, not %r" % (kind, name))
    raw = name.encode("utf-8", "surrogateescape")
    # net/core/dev.c dev_valid_name(): non-empty, < IFNAMSIZ, not "." or "..", no '/', ':' or space.
    if not raw or len(raw) >= _IFNAMSIZ:
        raise OSError(errno.EINVAL, "invalid %s name %r: must be 1..15 bytes" % (kind, name))
    if name in (".", "..") or any(c in name for c in "/: \t\n"):
        raise OSError(errno.EINVAL, "invalid %s name %r" % (kind, name))
    return raw


def open_fd(raw, mode, vnet_hdr=False):
    """A nonblocking fd on /dev/net/tun attached to interface raw (bytes) in mode IFF_TAP or
    IFF_TUN, without packet information. vnet_hdr: every frame carries a virtio_net_hdr and
    the kernel may hand over checksum-less and TSO4 super-frames (TUNSETOFFLOAD)."""
    fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        flags = mode | _IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", raw, flags).ljust(_IFREQ_SIZE, b"\0"))
        if vnet_hdr:
            fcntl.ioctl(fd, _TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4)
    except OSError:
        os.close(fd)
        raise
    return fd


def exists(name):
    # /sys/class/net shows the network namespace this process runs in (`ip netns exec` remounts it).
    return os.path.exists("/sys/class/net/" + name)


class TunTapDevice:
    """One TAP or TUN interface (a subclass sets MODE, KIND and link). `create=True` attaches
    to an existing device or creates a transient one (it disappears when closed);
    `create=False` only attaches to an existing one. The fd is nonblocking.

    offload=True opens it with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO4): the kernel
    then hands over IPv4 super-frames of up to 64 KB whose checksums it vouches for, and the
    NIC says so to the core (nic.py: csum_offload, rx_max, rx_csum_valid), and takes TCP
    super-segments of up to 64 KB from it (tso_max, send_tso)."""

    MODE = None
    KIND = None   # "TAP" or "TUN", for messages
    link = None

    csum_offload = False
    rx_csum_valid = False

    def __init__(self, name, create=True, offload=False):
        raw = check_name(name, self.KIND)
        self.name = name
        self.created = not exists(name)
        mode = _MODE_NAME[self.MODE]
        if self.created and not create:
            raise OSError(errno.ENODEV, "cannot open %s %r: no such device (create it with "
                          "`ip tuntap add dev %s mode %s`)" % (self.KIND, name, name, mode))
        self.stats = {"rx": 0, "tx": 0, "drop_tx": 0}
        self._fd = -1
        try:
            self._fd = open_fd(raw, self.MODE, vnet_hdr=offload)
        except OSError as e:
            raise self._open_error(e) from None
        # After the first frame of a wake, whether another waits is asked with poll(0)
        # (_readv); a read that finds nothing raises BlockingIOError, about three times the
        # cost, and for one request and its answer (an echo, a ping) that read was on the
        # answer's path.
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._run = 0       # frames read since a read last found the queue empty
        if offload:
            self.csum_offload = True
            self.rx_max = 65535     # the largest IPv4 datagram, so any super-frame
            self.tso_max = 65535
            self._vhdr = bytearray(virtio_hdr.LEN)
            self.send = self._send_vnet
            self.recv_into = self._recv_vnet

    def _open_error(self, e):
        """Turn an errno from opening or attaching into a message that says what to do."""
        kind, name = self.KIND, self.name
        if e.errno in (errno.EPERM, errno.EACCES):
            why = ("permission denied (needs root or CAP_NET_ADMIN for TAP/TUN, or a %s made "
                   "for this user with `ip tuntap add dev %s mode %s user $USER`)"
                   % (kind, name, _MODE_NAME[self.MODE]))
        elif e.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            why = "%s is missing (is the tun kernel module loaded?)" % TUN_PATH
        elif e.errno == errno.EBUSY:
            why = "device busy (another process has it open)"
        elif e.errno == errno.EINVAL:
            # drivers/net/tun.c tun_set_iff(): the mode and IFF_NO_PI must match the device's
            other = "a TUN" if kind == "TAP" else "a TAP"
            why = ("the existing device is not a %s without packet information (%s, or made "
                   "with `pi`?)" % (kind, other))
        else:
            why = os.strerror(e.errno) if e.errno else str(e)
        return OSError(e.errno, "cannot open %s %r: %s" % (kind, name, why))

    def fileno(self):
        return self._fd

    def send(self, frame):
        """Write one frame. A full queue or a downed link drops it, as a real NIC would:
        the stack's timers (ARP, TCP) recover, and an exception here would escape the core."""
        self._write((frame,))

    def _send_vnet(self, frame):
        # A frame barenet made carries complete checksums and no segmentation.
        self._write((virtio_hdr.PLAIN, frame))

    def send_tso(self, frame, mss):
        """Write one IPv4 TCP super-segment (Ethernet on a TAP) whose checksum field holds
        only the pseudo-header sum: the kernel completes it (NEEDS_CSUM) and, where the
        segments go on to a wire, cuts them at mss payload bytes (GSO_TCPV4)."""
        eth = 14 if self.MODE == IFF_TAP else 0
        ihl = (frame[eth] & 0x0F) * 4
        thl = (frame[eth + ihl + 12] >> 4) * 4
        self._write((virtio_hdr.pack(virtio_hdr.Header(
            virtio_hdr.F_NEEDS_CSUM, virtio_hdr.GSO_TCPV4, hdr_len=eth + ihl + thl,
            gso_size=mss, csum_start=eth + ihl, csum_offset=16)), frame))

    def _write(self, parts):
        try:
            os.writev(self._fd, parts)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.EIO):
                raise
            self.stats["drop_tx"] += 1
            return
        self.stats["tx"] += 1

    def _recv_vnet(self, buf):
        # The header lands in its own buffer, the frame in buf: one read, no copy.
        n = self._readv((self._vhdr, buf))
        if n < virtio_hdr.LEN:
            return 0
        self.rx_csum_valid = virtio_hdr.trusted(self._vhdr)
        return n - virtio_hdr.LEN

    def recv_into(self, buf):
        """Read one waiting frame into buf; 0 when none is waiting. A frame longer than buf
        is truncated by the kernel (the IPv4 length check then drops it)."""
        return self._readv((buf,))

    def _readv(self, bufs):
        if self._run == 1 and not self._poll.poll(0):
            # One frame came alone (the usual small exchange): say so without the empty read.
            # A second frame means a burst; its reads go on plain, until one finds nothing.
            self._run = 0
            return 0
        try:
            n = os.readv(self._fd, bufs)
        except BlockingIOError:
            self._run = 0
            return 0
        except OSError as e:
            if e.errno == errno.EBADFD:
                raise OSError(e.errno, "%s %r is gone (deleted while open)"
                              % (self.KIND, self.name)) from None
            raise
        self._run += 1
        self.stats["rx"] += 1
        return n

    def close(self):
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<%s %s fd=%d>" % (type(self).__name__, self.name, self._fd)
