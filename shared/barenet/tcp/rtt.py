"""Retransmission timeout estimation (RFC 6298) in integer milliseconds.

SRTT and RTTVAR are kept scaled (x8 and x4, as in Jacobson's and BSD's code) so the
arithmetic stays in small integers on MicroPython.
"""


class RTO:
    def __init__(self, min_ms=1000, max_ms=60000, initial_ms=1000, granularity_ms=1):
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.granularity_ms = granularity_ms
        self.srtt8 = 0          # 0: no sample yet
        self.rttvar4 = 0
        self.base = initial_ms  # RTO before backoff; RFC 6298 (2.1) initial value
        self.shift = 0          # exponential backoff exponent, RFC 6298 (5.5)

    def sample(self, r):
        """A valid RTT measurement in ms (Karn: never from a retransmitted segment)."""
        if r < 0:
            return
        if self.srtt8 == 0:
            # RFC 6298 (2.2)
            self.srtt8 = (r << 3) or 1
            self.rttvar4 = r << 1
        else:
            # RFC 6298 (2.3): RTTVAR first, from the old SRTT
            delta = r - (self.srtt8 >> 3)
            self.srtt8 += delta
            if self.srtt8 <= 0:
                self.srtt8 = 1
            if delta < 0:
                delta = -delta
            self.rttvar4 += delta - (self.rttvar4 >> 2)
        rto = (self.srtt8 >> 3) + max(self.granularity_ms, self.rttvar4)
        # RFC 6298 (2.4), (2.5): floor and ceiling
        self.base = min(max(rto, self.min_ms), self.max_ms)
        self.shift = 0

    def backoff(self):
        # RFC 6298 (5.5); capped so the value never exceeds max_ms
        if (self.base << self.shift) < self.max_ms:
            self.shift += 1

    def reset_backoff(self):
        self.shift = 0

    def value(self):
        return min(self.base << self.shift, self.max_ms)

    def srtt(self):
        return self.srtt8 >> 3

    def rttvar(self):
        return self.rttvar4 >> 2
