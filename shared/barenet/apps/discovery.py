"""Discovery responder: answers `barenet client discover` with who this device is.
A runner task, MicroPython-compatible.

The protocol (documented for users in README.md, "Use the client"), on UDP port PORT:

    request   b"BNDISCOVER1" [b" " TOKEN]      broadcast (or unicast) by the client; TOKEN is
                                               up to 32 printable ASCII bytes, echoed back
    reply     b"BNHERE1 " JSON                 unicast to the request's source address and port

    JSON: {"name": str, "mac": "xx:xx:xx:xx:xx:xx" or null (an ip link has none),
           "ip": "a.b.c.d/prefix", "board": str, "firmware": str, "uptime_s": int,
           "token": str (the request's, "" without one)}

The address and MAC are those of the interface the reply leaves by, the one toward the
requester. Replies are rate-limited by a token bucket (BURST replies, then one per
INTERVAL_MS), so a flood of requests, spoofed ones included, costs a bounded number of
replies; what is refused is counted (`rate_limited`), like anything that is not a request
(`bad_request`). Counters are in stack.stats["app_discovery<port>"].
"""

import json

from .. import ticks
from ..addr import ip_aton, ip_ntoa, mac_ntoa
from ..compat import const
from ..stats import inc

PORT = const(48879)          # 0xBEEF: chosen for barenet, the same on every board
REQUEST = b"BNDISCOVER1"
REPLY = b"BNHERE1 "
_TOKEN_MAX = const(32)
BURST = const(8)
INTERVAL_MS = const(100)
# The uptime is summed from clock differences, which ticks.diff can order only within half
# the wrap period (ticks.py): the task asks to run at least this often.
_TICK_MS = const(60000)


class Discovery:
    name = "discovery"

    def __init__(self, stack, port=PORT, device_name="barenet", board="host", firmware=None):
        if firmware is None:
            from .. import __version__ as firmware
        self.stack = stack
        self.ep = stack.udp.bind(port=port)
        self.port = self.ep.port
        self.device_name = device_name
        self.board = board
        self.firmware = firmware
        self.stats = {}
        stack.apps["%s%d" % (self.name, self.port)] = self
        self._last = None
        self._ms = 0             # uptime, ms part
        self._s = 0              # uptime, s part: small ints for years on a 32-bit board
        self._tokens = BURST
        self._refill = 0         # ms of uptime at the last refill

    def uptime_s(self):
        return self._s

    def poll(self, now_ms):
        if self._last is not None:
            self._ms += ticks.diff(now_ms, self._last)
            if self._ms >= 1000:
                self._s += self._ms // 1000
                self._ms %= 1000
        self._last = now_ms
        for _ in range(self.ep.queue_len + 1):   # bounded work per step, as UDPEcho
            try:
                got = self.ep.recvfrom()
            except OSError:
                inc(self.stats, "errors")        # an ICMP error for an earlier reply
                continue
            if got is None:
                return _TICK_MS
            self._answer(got[0], got[1])
        return 0

    def _answer(self, data, peer):
        token = self._token(data)
        if token is None:
            inc(self.stats, "bad_request")
            return
        if not self._take():
            inc(self.stats, "rate_limited")
            return
        try:
            iface = self.stack.ip.route(ip_aton(peer[0]))[0]
            if iface is self.stack.ip.loopback:
                iface = self.stack.interfaces[0]  # asked by ourselves: say who we are outside
            self.ep.sendto(REPLY + json.dumps(self.describe(iface, token)).encode(), peer)
        except OSError:
            inc(self.stats, "errors")            # no route back, or the ARP queue is full
            return
        inc(self.stats, "replies")

    def _token(self, data):
        """The request's token (str), or None when data is no request."""
        if data[:len(REQUEST)] != REQUEST:
            return None
        rest = data[len(REQUEST):]
        if not rest:
            return ""
        if rest[0] != 0x20 or len(rest) > _TOKEN_MAX + 1:
            return None
        for b in rest[1:]:
            if b < 0x21 or b > 0x7E:
                return None
        return rest[1:].decode()

    def _take(self):
        now = self._s * 1000 + self._ms
        gained = (now - self._refill) // INTERVAL_MS
        if gained:
            self._tokens = min(BURST, self._tokens + gained)
            self._refill += gained * INTERVAL_MS
        if self._tokens == 0:
            return False
        self._tokens -= 1
        return True

    def describe(self, iface, token=""):
        mac = getattr(iface, "mac", None)
        return {"name": self.device_name, "mac": None if mac is None else mac_ntoa(mac),
                "ip": "%s/%d" % (ip_ntoa(iface.ip), iface.prefix), "board": self.board,
                "firmware": self.firmware, "uptime_s": self._s, "token": token}

    def close(self):
        self.ep.close()
        self.stack.apps.pop("%s%d" % (self.name, self.port), None)
