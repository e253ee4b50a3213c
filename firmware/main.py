"""barenet's firmware: reads config.json (schema: boards/README.md), brings up the NIC and the
stack, takes an address (static, or DHCP), and serves the apps on asyncio until reset.

    micropython main.py [CONFIG]       # on a board, main.py runs at boot and reads config.json

The stack is stepped by barenet.aio's pump task (poll_driver.PollDriver.astep), so that the
board's own asyncio code runs beside it: `barenet.socket.install` makes `socket` and
asyncio's open_connection/start_server barenet's. A supervisor task feeds the watchdog, if the
port has one, and logs carrier and address changes; nothing sleeps longer than the stack's
next timer or ASLEEP_MS, so the loop never blocks past its longest timer. A NIC that fails is
reopened after RETRY_MS; a peer that vanishes is the apps' and TCP's to time out.
"""

import gc

# A connection's buffers are a few KB each (config sndbuf/rcvbuf), allocated when it opens.
# Loading the modules below leaves the heap in small holes (each import frees its reader's
# buffers between the objects it keeps: on the x64 VM the largest free block was 4.4 KB with
# 337 KB free, and every connection was refused_nomem). So a contiguous region is held while
# they load and given back once the firmware is up (Firmware.run): the buffers find it whole.
# Only on a heap of 384 KB or more (a tenth, at most 48 KB): a 192 KB board cannot hold it
# while it loads, and has room for few connections anyway (issue 11 item 8).
_free = gc.mem_free()
_reserve = bytearray(min(48 * 1024, _free // 10)) if _free >= 384 * 1024 else None
del _free

import json  # noqa: E402 (after the reserve, on purpose)
import sys  # noqa: E402
import time  # noqa: E402

import asyncio  # noqa: E402

from barenet import __version__ as VERSION  # noqa: E402
from log import Log  # noqa: E402
import netdev  # noqa: E402

CONFIG = "config.json"
SUPERVISE_MS = 1000
WDT_MS = 8000          # the longest RP2040 watchdog period (8.3 s); ESP32's may be longer
# app name -> (module, class, kind): TCP apps take a port; discovery its UDP port
_APPS = {"echo": ("barenet.apps.echo", "TCPEcho"), "discard": ("barenet.apps.discard", "Discard"),
         "chargen": ("barenet.apps.chargen", "Chargen"), "status": ("barenet.apps.status",
                                                                   "StatusPage"),
         "discovery": ("barenet.apps.discovery", "Discovery")}


def load(path=CONFIG):
    with open(path) as f:
        cfg = json.load(f)
    for key in ("hostname", "net", "link"):
        if key not in cfg:
            raise netdev.ConfigError("%s has no %r" % (path, key))
    mode = cfg["net"].get("mode")
    if mode not in ("dhcp", "static"):
        raise netdev.ConfigError("net.mode %r is neither dhcp nor static" % (mode,))
    if mode == "static" and "address" not in cfg["net"]:
        raise netdev.ConfigError("net.mode static needs net.address A.B.C.D/LEN")
    return cfg


class Firmware:
    def __init__(self, cfg, log):
        from barenet.loop import Loop
        from barenet.stack import Stack
        from poll_driver import PollDriver
        self.cfg = cfg
        self.log = log
        self.hostname = cfg["hostname"]
        self.mac = netdev.parse_mac(cfg["link"].get("mac"), self.hostname)
        # the NIC first: a tunnel's UDP socket must be the runtime's, before install()
        nic, waitables = netdev.make(cfg["link"], self.mac)
        self.stack = stack = Stack(cfg.get("profile", "board"))
        now = time.ticks_ms()
        net = cfg["net"]
        # a tunnel carries Ethernet frames, or with link.ip bare IP datagrams (what `barenet
        # bridge --board udp:PORT,ip` relays to its TUN or NAT)
        link_kind = "ip" if cfg["link"].get("ip") else getattr(nic, "link", "ethernet")
        mac = self.mac if link_kind == "ethernet" else None
        if net["mode"] == "static":
            self.iface = stack.add_interface(nic, mac=mac, link=link_kind, now_ms=now)
            self.iface.configure(net["address"], gateway=net.get("gateway"),
                                 dns=net.get("dns", ()))
            self.dhcp = None
        else:
            from barenet.dhcp import DHCPClient
            self.iface = stack.add_interface(nic, mac=mac, link=link_kind, now_ms=now)
            self.dhcp = DHCPClient(stack, self.iface, hostname=self.hostname,
                                   client_id=None if mac else b"\x00" + self.hostname.encode(),
                                   log=log.info)
        self.loop = Loop(stack)
        if self.dhcp is not None:
            self.loop.add_task(self.dhcp.poll)
        self.apps = self._start_apps(cfg.get("apps", {}))
        self.driver = PollDriver(self.loop, waitables)
        self._seen = (None, None)
        self._most = 0       # the most TCP connections open at once so far

    def _start_apps(self, apps):
        started = []
        for name, port in apps.items():
            if name == "mdns":
                continue          # below, once the other apps are up
            spec = _APPS.get(name)
            if spec is None:
                self.log.warning("unknown app %r in config.json: skipped" % name)
                continue
            mod = __import__(spec[0], None, None, (spec[1],))
            cls = getattr(mod, spec[1])
            if name == "discovery":
                app = cls(self.stack, port, device_name=self.hostname,
                          board=self.cfg.get("board", "unknown"), firmware=VERSION)
            else:
                app = cls(self.stack, port)
            self.loop.add_task(app.poll)
            started.append("%s:%d" % (name, port))
        if apps.get("mdns"):
            started.extend(self._mdns())
        self.log.info("apps " + " ".join(started))
        return started

    def _mdns(self):
        try:
            from barenet import mdns
        except ImportError:
            self.log.warning("mdns is on in config.json, but this firmware has no barenet.mdns")
            return []
        apps = self.cfg["apps"]
        r = mdns.Responder(self.stack, self.iface, self.hostname,
                           services=[("_http._tcp", apps["status"])] if "status" in apps else [],
                           txt={"board": self.cfg.get("board", "unknown"), "firmware": VERSION},
                           log=self.log.info)
        self.loop.add_task(r.poll)
        return ["mdns:%s.local" % self.hostname]

    def address(self):
        """'A.B.C.D/LEN', or None while the interface has no address."""
        i = self.iface
        if not i.configured:
            return None
        from barenet.addr import ip_ntoa
        return "%s/%d" % (ip_ntoa(i.ip), i.prefix)

    def supervise(self, now, wdt):
        if wdt is not None:
            wdt.feed()
        stream = getattr(self.iface.nic, "stream", None)
        if getattr(stream, "up", True) is False:
            old = stream.sock
            sock = stream.reopen()
            if sock is not None:
                self.driver.unwatch(old)
                self.driver.watch(sock)
        seen = (self.iface.link_up, self.address())
        if seen != self._seen:
            if seen[0] != self._seen[0]:
                self.log.info("link %s" % ("up" if seen[0] else "down"))
            if seen[1] != self._seen[1]:
                self.log.info("address %s, heap free %d" % (seen[1] or "gone", _heap_free()))
            self._seen = seen
        n = len(self.stack.tcp.conns)
        if n > self._most:
            # a board's budget is its heap under its busiest load (issue 11 item 8)
            self._most = n
            self.log.info("tcp connections %d (most yet), heap free %d" % (n, _heap_free()))
        self.log.debug("heap free %d" % gc.mem_free())

    async def run(self):
        from barenet import aio
        from barenet import socket as bsock
        sockets = bsock.Sockets(self.stack, self.driver)
        bsock.install(self.stack, self.driver)
        net = aio.Net(sockets)
        net.start()
        _release_reserve()
        wdt = _watchdog()
        self.log.info("%s up: barenet firmware %s, %s" % (
            self.hostname, VERSION, self.address() or "waiting for DHCP"))
        while True:
            self.supervise(time.ticks_ms(), wdt)
            await asyncio.sleep_ms(SUPERVISE_MS)


def _release_reserve():
    global _reserve
    _reserve = None
    gc.collect()


def _heap_free():
    gc.collect()         # what is free once garbage is gone, not since the last collection
    return gc.mem_free()


def _watchdog():
    try:
        from machine import WDT
    except ImportError:
        return None       # the unix port has none
    return WDT(timeout=WDT_MS)


# The running Firmware. main.py runs in the REPL's globals (as on rp2 and stm32), so after
# Ctrl-C the REPL still has it: `firmware.stack.stats`, `firmware.stack.tcp.conns`.
firmware = None


def main(path=CONFIG):
    global firmware
    try:
        cfg = load(path)
        log = Log(cfg.get("log", "info"))
    except (OSError, ValueError) as e:
        print("barenet: %s: %s" % (path, e))
        return 1
    log.info("barenet %s on %s, board %s" % (VERSION, sys.platform, cfg.get("board", "?")))
    try:
        firmware = Firmware(cfg, log)
    except (OSError, ValueError, KeyError) as e:
        log.error("cannot start: %s" % (e,))
        return 1
    asyncio.run(firmware.run())
    return 0


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else CONFIG)
