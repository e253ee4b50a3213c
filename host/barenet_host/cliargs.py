"""What every `barenet` command shares: the one-line errors and the argument types.

A mistake in the command line is a UsageError (one line on stderr, exit status 2); a failure of
the environment while running is a RuntimeFailure (one line, exit status 1). The argument types
turn argparse's complaints into such lines. Each command's module adds its subparser with these
and registers it in cli.py.
"""

import argparse

from barenet import addr

from barenet_host.devices import spec as devspec
from barenet_host.devices.tuntap import check_name

PROG = "barenet"
EXIT_USAGE = 2
EXIT_FAILURE = 1
MTU_MIN = 576  # RFC 791: every host must accept 576-byte datagrams
MTU_MAX = 9000  # jumbo frames; the receive buffer is sized from it


class UsageError(Exception):
    """A mistake in the command line: reported as one line, exit status 2."""


class RuntimeFailure(Exception):
    """The environment failed while serving: reported as one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    # argparse prints the whole usage before its error line; one line says enough.
    def error(self, message):
        raise UsageError(message)


def cidr(text):
    try:
        ip, prefix = addr.parse_cidr(text)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid address %r (want a.b.c.d/prefix)" % text)
    if "/" not in text or not 1 <= prefix <= 32:
        raise argparse.ArgumentTypeError("invalid address %r (want a.b.c.d/prefix, prefix 1..32)"
                                         % text)
    host = int.from_bytes(ip, "big") & ~int.from_bytes(addr.prefix_mask(prefix), "big")
    if prefix <= 30 and host in (0, (1 << (32 - prefix)) - 1):
        raise argparse.ArgumentTypeError("%s is a network or broadcast address, not a host" % text)
    return ip, prefix


def ip(text):
    try:
        return addr.ip_aton(text)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid IPv4 address %r" % text)


def mac(text):
    try:
        mac = addr.mac_aton(text)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid MAC address %r (want xx:xx:xx:xx:xx:xx)" % text)
    if mac[0] & 1 or mac == addr.ZERO_MAC:
        raise argparse.ArgumentTypeError("%s is not a unicast MAC address" % text)
    return mac


def mdns_name(text):
    """A host label for NAME.local: RFC 1035 letters, digits and hyphens, 1-63 octets
    (RFC 6762 16 allows more, but a board's name should work with every resolver)."""
    name = text[:-6] if text.lower().endswith(".local") else text
    if not 0 < len(name) <= 63 or name[0] == "-" or name[-1] == "-" or \
            not all(c.isalnum() and c.isascii() or c == "-" for c in name):
        raise argparse.ArgumentTypeError("%r is not a host name (letters, digits and hyphens, "
                                         "at most 63)" % (text,))
    return name


def ranged(name, lo, hi, number=int):
    """An argument type: a number lo..hi; number=float for seconds and other fractions."""
    what = "an integer %d..%d" if number is int else "a number %g..%g"

    def parse(text):
        try:
            n = number(text)
        except ValueError:
            n = None
        if n is None or not lo <= n <= hi:   # NaN fails the comparison too
            raise argparse.ArgumentTypeError("%s must be %s, not %r"
                                             % (name, what % (lo, hi), text))
        return n
    return parse


def _ifname(kind):
    def parse(text):
        # The control socket's path is made from it: the kernel's own name rules keep it one
        # path component.
        try:
            check_name(text, kind)
        except OSError as e:
            raise argparse.ArgumentTypeError(e.strerror)
        return text
    return parse


tap_name = _ifname("TAP")
tun_name = _ifname("TUN")


def default_mac(ip):
    """02:00 and the four address bytes: locally administered (IEEE 802 U/L bit), unicast, and
    the same on every run, so a peer's ARP cache stays valid across restarts."""
    return b"\x02\x00" + bytes(ip)


def device(text):
    """A device spec (devices/spec.py), parsed: its ValueError becomes argparse's one line."""
    try:
        return devspec.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))
