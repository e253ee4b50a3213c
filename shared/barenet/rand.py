"""The stack's one pseudo-random source, seeded from cfg.seed (the core reads no entropy of
its own, so a run is repeatable: tests replay it, a board seeds it from its own unique id).

Marsaglia's xorshift32 ("Xorshift RNGs", J. Stat. Software 8(14), 2003): not for secrets
(TCP's ISNs use a keyed hash), for timer jitter and transaction ids."""


class Rand:
    def __init__(self, seed):
        s = (seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
        self._s = s or 1        # xorshift's one fixed point is 0

    def u32(self):
        s = self._s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self._s = s
        return s

    def below(self, n):
        """An int in [0, n), n > 0."""
        return self.u32() % n

    def spread(self, ms, jitter):
        """ms randomised by up to +-jitter ms, never below 0 (RFC 2131 4.1's "+-1 s")."""
        v = ms - jitter + self.below(2 * jitter + 1) if jitter else ms
        return v if v > 0 else 0
