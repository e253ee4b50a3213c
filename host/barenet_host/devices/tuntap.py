"""What TAP and TUN devices share: the interface-name rules, opening /dev/net/tun with
TUNSETIFF, the one-line errors, and the NIC protocol over the fd (barenet/nic.py).

A TAP carries Ethernet frames, a TUN bare IP datagrams (Documentation/networking/tuntap.rst);
both are opened without the 4-byte packet-information prefix (IFF_NO_PI), so a read or write
is exactly one frame. tap.py and tun.py say which mode and link type.
"""

import errno
import fcntl
import os
import struct

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
    `create=False` only attaches to an existing one. The fd is nonblocking."""

    MODE = None
    KIND = None   # "TAP" or "TUN", for messages
    link = None

    def __init__(self, name, create=True):
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
            self._fd = open_fd(raw, self.MODE)
        except OSError as e:
            raise self._open_error(e) from None

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
        try:
            os.write(self._fd, frame)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.EIO):
                raise
            self.stats["drop_tx"] += 1
            return
        self.stats["tx"] += 1

    def recv_into(self, buf):
        """Read one waiting frame into buf; 0 when none is waiting. A frame longer than buf
        is truncated by the kernel (the IPv4 length check then drops it)."""
        try:
            n = os.readv(self._fd, (buf,))
        except BlockingIOError:
            return 0
        except OSError as e:
            if e.errno == errno.EBADFD:
                raise OSError(e.errno, "%s %r is gone (deleted while open)"
                              % (self.KIND, self.name)) from None
            raise
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
