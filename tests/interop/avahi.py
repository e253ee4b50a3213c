"""Debian's avahi-daemon in a test network namespace, on a private D-Bus system bus (the
namespace has none), as ../shared/reference/avahi-netns.md describes; its clients
(avahi-resolve, avahi-browse) run with the same bus address."""

import os
import subprocess
import time

from procs import stop

_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"""

_AVAHI = """[server]
host-name=%s
use-ipv4=yes
use-ipv6=no
allow-interfaces=%s
enable-dbus=yes
[publish]
publish-addresses=yes
publish-workstation=no
"""


class Avahi:
    def __init__(self, ns, tmp, dev, host_name="kernelhost"):
        self.ns = ns
        bus = os.path.join(str(tmp), "bus")
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + bus)
        (tmp / "dbus.conf").write_text(_BUS % bus)
        (tmp / "avahi.conf").write_text(_AVAHI % (host_name, dev))
        self.procs = []
        self.procs.append(ns.popen(["dbus-daemon", "--config-file=%s" % (tmp / "dbus.conf"),
                                    "--nofork", "--nopidfile"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for _ in range(100):
            if os.path.exists(bus):
                break
            time.sleep(0.05)
        # avahi-daemon refuses to start while another one's pid file in /run/avahi-daemon
        # names a live process: any other test's daemon on this machine, in whatever
        # namespace. `ip netns exec` runs each command in a mount namespace of its own, so a
        # tmpfs there gives this daemon its own /run/avahi-daemon, unseen by the others.
        private = ("mkdir -p /run/avahi-daemon && mount -t tmpfs avahi /run/avahi-daemon && "
                   'exec avahi-daemon "$@"')
        self.procs.append(ns.popen(["sh", "-c", private, "avahi-daemon",
                                    "-f", str(tmp / "avahi.conf"),
                                    "--no-drop-root", "--no-chroot", "--no-rlimits",
                                    "--no-proc-title"],
                                   env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True))
        self.wait_ready()

    def wait_ready(self, timeout_s=20):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            r = self.run(["avahi-resolve", "-n", "kernelhost.local"], timeout=10)
            if r.returncode == 0:
                return
            time.sleep(0.3)
        self.close()
        raise AssertionError("avahi-daemon did not come up: %s" % (r.stderr,))

    def run(self, cmd, timeout=30):
        return self.ns.run(cmd, env=self.env, timeout=timeout)

    def resolve(self, name, timeout_s=20):
        """avahi-resolve -n name -> its address, retried until it answers or timeout_s."""
        end = time.monotonic() + timeout_s
        while True:
            r = self.run(["avahi-resolve", "-4", "-n", name])
            if r.returncode == 0 and r.stdout.strip():
                return r.stdout.split()[1]
            if time.monotonic() > end:
                raise AssertionError("avahi-resolve -n %s: %r %r" % (name, r.stdout, r.stderr))
            time.sleep(0.5)

    def browse(self, stype):
        """avahi-browse -rtp stype -> [(name, address, port, txt)] of the resolved entries."""
        r = self.run(["avahi-browse", "-rtp", stype])
        out = []
        for line in r.stdout.splitlines():
            f = line.split(";")
            if f[0] == "=" and f[2] == "IPv4":
                out.append((f[3], f[7], int(f[8]), f[9] if len(f) > 9 else ""))
        return out

    def close(self):
        for p in reversed(self.procs):
            stop(p)
