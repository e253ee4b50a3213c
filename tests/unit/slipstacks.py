"""Two or more barenet stacks (host profile) on real SLIP NICs, stepped in one thread against
the real clock: one select() over every NIC's fd between rounds, so no test sleeps blindly."""

import hashlib
import select
import time

from barenet import ticks
from barenet.loop import Loop
from barenet.stack import Stack
from barenet_host.runner import now_ms

MAX_WAIT_S = 0.05    # between rounds; every NIC's poll() may want less


class Stacks:
    def __init__(self):
        self.loops = []

    def add(self, nic, cidr):
        stack = Stack("host")
        iface = stack.add_interface(nic, ip=cidr, now_ms=now_ms())
        self.loops.append(Loop(stack))
        return stack, iface

    def run(self, until, timeout_s=60):
        """Step every stack until until() is true (-> True) or timeout_s passes (-> False)."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            wait = None
            for loop in self.loops:
                wait = ticks.earliest(wait, loop.step(now_ms()))
            if until():
                return True
            fds = [i.nic.fileno() for loop in self.loops for i in loop.stack.interfaces]
            select.select(fds, [], [], MAX_WAIT_S if wait is None else
                          min(wait / 1000, MAX_WAIT_S))
        return False

    def ping(self, stack, dst, sizes, timeout_s=10):
        """One echo per size from stack to dst; -> the (src, seq, len) of each reply."""
        ep = stack.icmp.echo_endpoint(77)
        got = []
        for seq, n in enumerate(sizes):
            ep.send(dst, seq, bytes(range(256)) * (n // 256) + bytes(n % 256))
            box = []
            assert self.run(lambda: box.append(ep.recv()) or box[-1] is not None, timeout_s)
            src, s, data = box[-1]
            got.append((src, s, len(data)))
        return got


class Transfer:
    """A TCP transfer of `data` from one stack to a listener on another, as a loop task."""

    def __init__(self, sender, receiver, dst, data, port=9):
        self.data = data
        self.lst = receiver.tcp.listen(port)
        self.conn = sender.tcp.connect(dst, port)
        self.peer = None
        self.sent = 0
        self.got = bytearray()

    def task(self, now):
        if self.peer is None:
            self.peer = self.lst.accept()
        while self.sent < len(self.data):
            n = self.conn.send(memoryview(self.data)[self.sent:self.sent + 65536])
            if not n:
                break
            self.sent += n
        while self.peer is not None:
            d = self.peer.recv(65536)
            if not d:
                break
            self.got += d
        return None

    @property
    def done(self):
        return len(self.got) >= len(self.data)

    def exact(self):
        return hashlib.sha256(self.got).hexdigest() == hashlib.sha256(self.data).hexdigest()


def megabyte(seed=b"slip"):
    return b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(32768))
