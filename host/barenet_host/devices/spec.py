"""One device syntax for every command (issue 10): `parse(text)` -> Spec, `open_device(spec)` -> NIC.

    tap:NAME                         Ethernet frames through a Linux TAP
    tun:NAME                         bare IPv4 datagrams through a Linux TUN
    serial:PORT[@BAUD][,OPT...]      SLIP over a serial port: a device path (/dev/ttyACM0) or a
                                     pyserial URL (loop://, socket://HOST:PORT, rfc2217://...)
    pty[,OPT...]                     SLIP over a new pseudo-terminal; its path is printed
    unix:PATH[,OPT...]               SLIP over an AF_UNIX stream socket
    udp:[ADDR:]PORT[,OPT...]         one frame per UDP datagram (Wi-Fi boards' tunnel)

Options: `crc` (a CRC-16/X.25 trailer per SLIP frame), `rtscts` or `xonxoff` (serial flow
control), `mtu=N`, and for udp `ip` (bare IPv4 datagrams instead of Ethernet frames). Serial-like
kinds (serial, pty, unix, udp) are the ones `barenet bridge` takes as its board side.

A malformed spec is a ValueError whose text is one line fit for `barenet: error: ...`.
"""

import importlib

from barenet.wire import slip

KINDS = ("tap", "tun", "serial", "pty", "unix", "udp")
SERIAL_LIKE = ("serial", "pty", "unix", "udp")
DEFAULT_BAUD = 115200
# RFC 1055: SLIP has no MTU negotiation; 1006 is the conventional default. barenet allows up
# to Ethernet's 1500 (barenet/wire/slip.py).
SLIP_MTU = slip.DEFAULT_MTU
MTU_MIN = 576  # RFC 791: every host must accept 576-byte datagrams
MTU_MAX = 9000
_FLAGS = {"crc": ("serial", "pty", "unix"), "rtscts": ("serial",), "xonxoff": ("serial",),
          "ip": ("udp",)}
# kind -> (module under barenet_host.devices, the function that opens a Spec)
_OPENERS = {"tap": ("tap", "open_spec"), "tun": ("tun", "open_spec"), "udp": ("udp", "open_spec"),
            "serial": ("serial", "open_spec"), "pty": ("pty", "open_spec"),
            "unix": ("unix", "open_spec")}
USAGE = ("expected tap:NAME, tun:NAME, serial:PORT[@BAUD][,crc], pty, unix:PATH or "
         "udp:[ADDR:]PORT")


class Spec:
    """A parsed device spec. `target` is the name, port, path or [ADDR:]PORT after the colon."""

    def __init__(self, kind, target="", baud=None, crc=False, flow=None, mtu=None, ip=False,
                 text=""):
        self.kind = kind
        self.target = target
        self.baud = baud
        self.crc = crc
        self.flow = flow          # None, "rtscts" or "xonxoff"
        self.mtu = mtu            # None: the kind's default
        self.ip = ip              # udp: bare IPv4 datagrams
        self.text = text

    @property
    def serial_like(self):
        return self.kind in SERIAL_LIKE

    @property
    def link(self):
        """"ethernet" or "ip" (barenet/nic.py): what the device's frames start with."""
        if self.kind == "tap" or (self.kind == "udp" and not self.ip):
            return "ethernet"
        return "ip"

    def __repr__(self):
        return "<Spec %s>" % (self.text or self.kind)


def _bad(text, why):
    return ValueError("device %r: %s" % (text, why))


def parse(text):
    """'serial:/dev/ttyACM0@921600,crc' -> Spec; ValueError with a one-line reason otherwise."""
    if not isinstance(text, str) or not text:
        raise ValueError("empty device spec: " + USAGE)
    kind, colon, rest = text.partition(":")
    if kind not in KINDS or not colon:
        # 'pty,crc' has no colon: its options follow the kind directly
        kind, comma, opts = text.partition(",")
        if kind != "pty":
            if colon or kind not in KINDS:
                raise _bad(text, "unknown kind %r: %s" % (text.partition(":")[0], USAGE))
            raise _bad(text, "%s needs a target after '%s:'" % (kind, kind))
        rest = comma + opts
    elif kind == "pty":
        raise _bad(text, "pty takes no target: write pty or pty,crc")
    if kind == "pty":
        target, options = "", [o for o in rest.split(",") if o != ""]
        if rest and not options:
            raise _bad(text, "empty option")
    else:
        target, options = _split_options(text, kind, rest)
    spec = Spec(kind, target, text=text)
    for opt in options:
        _option(spec, text, opt)
    if kind == "serial":
        _serial_target(spec, text)
    elif kind in ("tap", "tun"):
        if not target:
            raise _bad(text, "%s needs an interface name, e.g. %s:bn0" % (kind, kind))
    elif kind == "unix":
        if not target:
            raise _bad(text, "unix needs a socket path, e.g. unix:/tmp/board.sock")
    elif kind == "udp":
        from barenet_host.devices.udp import parse_spec
        parse_spec(target)    # ValueError with its own one-line reason
    return spec


def _split_options(text, kind, rest):
    # pyserial URLs keep their own query strings (socket://host:port?logging=debug), and
    # paths may hold commas only in theory: options are the comma-separated words at the end
    # that name an option.
    parts = rest.split(",")
    target = parts[0]
    options = parts[1:]
    if any(o == "" for o in options):
        raise _bad(text, "empty option")
    return target, options


def _option(spec, text, opt):
    name, eq, value = opt.partition("=")
    if name == "mtu" and eq:
        try:
            mtu = int(value)
        except ValueError:
            raise _bad(text, "mtu=%r is not a number" % value)
        if not MTU_MIN <= mtu <= MTU_MAX:
            raise _bad(text, "mtu must be %d-%d" % (MTU_MIN, MTU_MAX))
        if spec.serial_like and spec.kind != "udp" and mtu > slip.MAX_MTU:
            raise _bad(text, "a SLIP link's mtu is at most %d" % slip.MAX_MTU)
        spec.mtu = mtu
        return
    if eq or name not in _FLAGS:
        raise _bad(text, "unknown option %r (crc, rtscts, xonxoff, mtu=N, ip)" % opt)
    if spec.kind not in _FLAGS[name]:
        raise _bad(text, "option %r does not apply to %s" % (name, spec.kind))
    if name == "crc":
        spec.crc = True
    elif name == "ip":
        spec.ip = True
    else:
        if spec.flow is not None and spec.flow != name:
            raise _bad(text, "choose one of rtscts and xonxoff")
        spec.flow = name


def _serial_target(spec, text):
    port = spec.target
    # PORT@BAUD; a URL may contain '@' only before its host (user@host), so the baud is the
    # part after the last '@' when it is all digits.
    head, at, tail = port.rpartition("@")
    if at and tail.isdigit():
        port, spec.baud = head, int(tail)
        if not 50 <= spec.baud <= 20000000:
            raise _bad(text, "baud rate %d is out of range" % spec.baud)
    elif at and not tail:
        raise _bad(text, "missing baud rate after '@'")
    if not port:
        raise _bad(text, "serial needs a port, e.g. serial:/dev/ttyACM0 or serial:loop://")
    spec.target = port
    if spec.baud is None:
        spec.baud = DEFAULT_BAUD


def open_device(spec, **kwargs):
    """Open the device a Spec (or spec text) names -> a NIC (barenet/nic.py) with fileno().

    OSError or ValueError with a one-line message when it cannot be opened."""
    if isinstance(spec, str):
        spec = parse(spec)
    try:
        module, fn = _OPENERS[spec.kind]
    except KeyError:
        raise ValueError("device %r: %s devices are not supported by this build"
                         % (spec.text, spec.kind))
    opener = getattr(importlib.import_module("barenet_host.devices." + module), fn)
    return opener(spec, **kwargs)
