"""NIC middleware that watches frames pass without changing them: the base of the pcap
recorder (pcap.py) and the per-frame log (trace.py).

A pull NIC like the one it wraps (barenet/nic.py): every frame the stack sends and every frame
it reads with recv_into is handed to `observe(outgoing, frame, now_ms)`, stamped with the time
of the loop step (the last poll(now_ms)), before it goes on.
"""

from barenet.nic import Wrapper


class ObservingNIC(Wrapper):
    def __init__(self, nic):
        Wrapper.__init__(self, nic)
        self._now = None
        self._early = []   # frames sent before the first poll: the time is not known yet
        self._inner_poll = getattr(nic, "poll", None)

    def observe(self, outgoing, frame, now_ms):
        """frame (a memoryview valid only during the call) passed out of or into the stack."""
        raise NotImplementedError

    def poll(self, now_ms):
        self._now = now_ms
        if self._early:
            # sent just before the first loop step (an interface's gratuitous ARP): stamped
            # with that step's time
            early, self._early = self._early, []
            for frame in early:
                self.observe(True, memoryview(frame), now_ms)
        return self._inner_poll(now_ms) if self._inner_poll is not None else None

    def send(self, frame):
        if self._now is None:
            self._early.append(bytes(frame))
        else:
            self.observe(True, frame, self._now)
        self.nic.send(frame)

    def recv_into(self, buf):
        n = self.nic.recv_into(buf)
        if n:
            self.observe(False, memoryview(buf)[:n], self._now)
        return n
