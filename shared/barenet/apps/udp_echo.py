"""UDP echo service (RFC 862): every datagram goes back to its sender, unchanged.

A runner task: `poll(now_ms)` drains the endpoint's queue. MicroPython-compatible.
"""


class UDPEcho:
    def __init__(self, stack, port, queue=8):
        self.ep = stack.udp.bind(port=port, queue=queue)
        self.port = self.ep.port
        # Bounded work per call: at most one queue's worth (plus pending errors) per poll, so a
        # flood cannot hold the loop; poll() returns 0 to be called again at once.
        self._burst = queue + 1
        self.echoed = 0
        self.errors = 0

    def poll(self, now_ms):
        ep = self.ep
        for _ in range(self._burst):
            try:
                got = ep.recvfrom()
            except OSError:
                # A pending ICMP error (say, port unreachable from a sender that left) belongs
                # to one earlier reply; the service goes on serving everyone else.
                self.errors += 1
                continue
            if got is None:
                return None
            data, peer = got
            try:
                ep.sendto(data, peer)
                self.echoed += 1
            except OSError:
                # No route back or datagram too big for the interface: drop, as RFC 862 allows.
                self.errors += 1
        return 0

    def close(self):
        self.ep.close()
