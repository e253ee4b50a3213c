"""A Linux TAP device as a barenet NIC: raw Ethernet frames in and out through /dev/net/tun.

The NIC protocol is the core's (barenet/nic.py): `send(frame)`, `recv_into(buf)`, the link
facts, `stats`, and `fileno()` for the host runner's select. The fd is nonblocking.
"""

import errno
import fcntl
import os
import struct

_TUN_PATH = "/dev/net/tun"
# linux/if_tun.h: _IOW('T', 202, int)
_TUNSETIFF = 0x400454CA
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000  # frames without the 4-byte packet-information prefix
_IFNAMSIZ = 16  # includes the terminating NUL, so names have at most 15 bytes
_IFREQ_SIZE = 40


def check_name(name):
    """Raise OSError(EINVAL) unless name is a valid Linux interface name."""
    if not isinstance(name, str):
        raise OSError(errno.EINVAL, "TAP name must be a string, not %r" % (name,))
    raw = name.encode("utf-8", "surrogateescape")
    # net/core/dev.c dev_valid_name(): non-empty, < IFNAMSIZ, not "." or "..", no '/', ':' or space.
    if not raw or len(raw) >= _IFNAMSIZ:
        raise OSError(errno.EINVAL, "invalid TAP name %r: must be 1..15 bytes" % (name,))
    if name in (".", "..") or any(c in name for c in "/: \t\n"):
        raise OSError(errno.EINVAL, "invalid TAP name %r" % (name,))
    return raw


def _exists(name):
    # /sys/class/net shows the network namespace this process runs in (`ip netns exec` remounts it).
    return os.path.exists("/sys/class/net/" + name)


def _open_error(name, e):
    """Turn an errno from opening or attaching into a message that says what to do."""
    if e.errno in (errno.EPERM, errno.EACCES):
        why = ("permission denied (needs root or CAP_NET_ADMIN, or a TAP made for this user with "
               "`ip tuntap add dev %s mode tap user $USER`)" % name)
    elif e.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        why = "%s is missing (is the tun kernel module loaded?)" % _TUN_PATH
    elif e.errno == errno.EBUSY:
        why = "device busy (another process has it open)"
    elif e.errno == errno.EINVAL:
        why = "the existing device is not a TAP without packet information (a TUN, or made with `pi`?)"
    else:
        why = os.strerror(e.errno) if e.errno else str(e)
    return OSError(e.errno, "cannot open TAP %r: %s" % (name, why))


class TapDevice:
    """One TAP interface. `create=True` attaches to an existing TAP or creates a transient one
    (it disappears when closed); `create=False` only attaches to an existing one."""

    def __init__(self, name, create=True):
        raw = check_name(name)
        self.name = name
        self.created = not _exists(name)
        if self.created and not create:
            raise OSError(errno.ENODEV, "cannot open TAP %r: no such device (create it with "
                          "`ip tuntap add dev %s mode tap`)" % (name, name))
        self.stats = {"rx": 0, "tx": 0, "drop_tx": 0}
        self._fd = -1
        try:
            fd = os.open(_TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise _open_error(name, e) from None
        try:
            ifr = struct.pack("16sH", raw, _IFF_TAP | _IFF_NO_PI).ljust(_IFREQ_SIZE, b"\0")
            fcntl.ioctl(fd, _TUNSETIFF, ifr)
        except OSError as e:
            os.close(fd)
            raise _open_error(name, e) from None
        self._fd = fd

    link = "ethernet"

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
                raise OSError(e.errno, "TAP %r is gone (deleted while open)" % self.name) from None
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
        return "<TapDevice %s fd=%d>" % (self.name, self._fd)


def open_spec(spec, create=True):
    """`tap:NAME` (devices/spec.py) -> a TapDevice."""
    return TapDevice(spec.target, create=create)
