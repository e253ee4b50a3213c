"""A board's tunnel NIC: barenet's Ethernet frames carried one per UDP datagram through the
runtime's own network stack (a Wi-Fi board's lwIP, or the unix port's kernel sockets), to the
host end of the link (barenet_host.devices.udp, `udp:[ADDR:]PORT` in issue 10). No MicroPython
port hands Python raw Wi-Fi frames, so this is how a Wi-Fi board runs barenet.

    link = UDPLink("192.168.4.2", 5555)         # import this before barenet.socket.install()
    iface = stack.add_interface(link, mac=MAC, ip="192.0.2.2/24")

The NIC protocol is barenet/nic.py's. The runtime's socket module is taken at import: after
install() `import socket` is barenet's own, which cannot carry barenet's frames.
"""

import socket as _socket

from barenet import ticks

_EAGAIN = 11
# The host end answers the board that spoke last and forgets it when it restarts; a board
# with nothing to send (a static address answers only) reminds it this often
KEEPALIVE_MS = 10000


class UDPLink:
    link = "ethernet"

    def __init__(self, host, port, mtu=1500, local_port=0):
        if hasattr(_socket, "Sockets"):
            raise ImportError("drivers.udp_link was imported after barenet.socket.install(): "
                              "import it first, so it gets the runtime's own socket module")
        self.mtu = mtu
        self.stats = {"rx": 0, "tx": 0, "drop_tx": 0}
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        s.bind(_socket.getaddrinfo("0.0.0.0", local_port)[0][-1])
        s.connect(_socket.getaddrinfo(host, port)[0][-1])
        s.setblocking(False)
        self.sock = s      # what a driver's select.poll waits on (firmware/poll_driver.py)
        # CPython's sockets have recv_into; MicroPython's have none, and their stream readinto
        # reads until the buffer is full (py/stream.c, mp_stream_read_exactly): on a datagram
        # socket it joins every datagram waiting into one "frame", of which the stack then
        # parses the first and loses the rest (a burst of ACKs, say). recv reads one datagram.
        self._readinto = getattr(s, "recv_into", None) or self._recv_copy
        self._keepalive_at = None     # the first poll speaks at once

    def poll(self, now):
        """nic.py's poll: an empty datagram now and then every KEEPALIVE_MS, which tells the
        host end (barenet_host.devices.udp) where the board is before the board has anything
        to send, and again after the host end restarted."""
        if self._keepalive_at is None or ticks.due(self._keepalive_at, now):
            self.send(b"")
            self._keepalive_at = ticks.add(now, KEEPALIVE_MS)
        return ticks.until(self._keepalive_at, now)

    def send(self, frame):
        try:
            self.sock.send(frame)
        except OSError:
            # a full queue, or the host end not listening (ECONNREFUSED from an earlier
            # datagram): dropped like any NIC's frame; ARP and TCP timers recover
            self.stats["drop_tx"] += 1
            return
        self.stats["tx"] += 1

    def recv_into(self, buf):
        while True:
            try:
                n = self._readinto(buf)
            except OSError as e:
                if e.args[0] == _EAGAIN:
                    return 0
                continue    # an ICMP error for an earlier send, not a frame
            if not n:
                return 0
            self.stats["rx"] += 1
            return n

    def _recv_copy(self, buf):
        d = self.sock.recv(len(buf))     # OSError(EAGAIN) when none is waiting
        n = len(d)
        buf[:n] = d
        return n

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        self.sock.close()
