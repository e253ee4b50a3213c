"""Network namespaces for tests, demos and benchmarks, following ../shared/NETWORK-RULES.md.

Every name is unique per process (`bn` + pid + tag + counter), every namespace is deleted on
exit even after a failure, every command has a timeout, and only the documentation ranges
(and loopback) may be assigned. Nothing here touches the machine's own interfaces: devices
are configured only inside a namespace this module created.
"""

import ipaddress
import itertools
import os
import subprocess

# NETWORK-RULES.md rule 2: RFC 5737 documentation ranges, plus loopback.
ALLOWED_NETS = tuple(ipaddress.ip_network(n) for n in
                     ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8"))

_counter = itertools.count()
_IFNAME_MAX = 15
DEFAULT_TIMEOUT = 10


def unique_name(tag=""):
    """A name no other process or earlier call uses, short enough for a device (<= 15 bytes)."""
    name = "bn%d%s%d" % (os.getpid(), tag, next(_counter))
    if len(name) > _IFNAME_MAX:
        raise ValueError("name %r too long for a device; use a shorter tag" % name)
    return name


def check_cidr(cidr):
    """Return cidr if its address lies in an allowed range, else raise ValueError."""
    iface = ipaddress.ip_interface(cidr)
    if not any(iface.ip in net and iface.network.subnet_of(net) for net in ALLOWED_NETS
               if net.version == iface.version):
        raise ValueError("%s is outside the documentation ranges (NETWORK-RULES.md rule 2)" % cidr)
    return cidr


def _ip(args, timeout=DEFAULT_TIMEOUT):
    return subprocess.run(["ip"] + list(args), check=True, capture_output=True, text=True,
                          timeout=timeout)


class NetNS:
    """`with NetNS() as ns:` creates a namespace and always deletes it."""

    def __init__(self, name=None):
        self.name = name or unique_name("n")
        self._made = False

    def __enter__(self):
        _ip(["netns", "add", self.name])
        self._made = True
        return self

    def __exit__(self, *exc):
        self.delete()

    def delete(self):
        """Delete the namespace. Devices in it (TAPs included) go with it; a process still
        inside keeps it alive only until that process exits."""
        if self._made:
            self._made = False
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True,
                           timeout=DEFAULT_TIMEOUT)

    def argv(self, cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def run(self, cmd, timeout=DEFAULT_TIMEOUT, check=False, **kw):
        """Run cmd (a list) inside the namespace; returns CompletedProcess with text output."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.argv(cmd), timeout=timeout, check=check, **kw)

    def popen(self, cmd, **kw):
        """Start cmd inside the namespace. `ip netns exec` execs cmd, so the Popen's pid is the
        command's own pid: the caller can signal it and must wait for it with a timeout."""
        return subprocess.Popen(self.argv(cmd), **kw)

    def ip(self, *args, timeout=DEFAULT_TIMEOUT):
        """`ip -n NS ...`; raises CalledProcessError with ip's stderr on failure."""
        return _ip(["-n", self.name] + list(args), timeout=timeout)

    def move(self, dev):
        """Move a device from this process's namespace into this one. An open TAP fd stays
        attached to the device."""
        _ip(["link", "set", "dev", dev, "netns", self.name])

    def tuntap_add(self, dev, mode="tap"):
        """Create a persistent TAP (or TUN) inside the namespace, as QEMU users do with
        `ip tuntap`."""
        self.run(["ip", "tuntap", "add", "dev", dev, "mode", mode], check=True)

    def addr(self, dev, cidr):
        self.ip("addr", "add", check_cidr(cidr), "dev", dev)

    def mtu(self, dev, mtu):
        self.ip("link", "set", "dev", dev, "mtu", str(mtu))

    def up(self, dev):
        """Bring dev and the namespace's loopback up."""
        self.ip("link", "set", "dev", "lo", "up")
        self.ip("link", "set", "dev", dev, "up")

    def sysctl(self, key, value):
        self.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)], check=True)
