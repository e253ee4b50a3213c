"""The Internet checksum's word loop compiled by MicroPython's viper emitter.

checksum.py uses this `csum` instead of its int.from_bytes one when it imports (MicroPython
built with the native emitter). For a 1460-byte segment in the unix VM it takes ~1.15 us against
8-20 us for int.from_bytes, whose big integer allocates (`vm_csum.py bench` in
tests/micropython). Same contract as checksum.csum: a partial sum (here folded, which keeps it
congruent modulo 0xFFFF and a small int), chainable when every piece but the last has an even
length, an odd tail byte padded with zero.
"""

# `from micropython import const` first: it fails on CPython even where a directory named
# micropython (tests/micropython) shadows the module as a namespace package.
from micropython import const
import micropython

# 32768 words of at most 0xFFFF sum to less than 2**32: a chunk cannot overflow the uint.
_CHUNK = const(65536)


@micropython.viper
def _words(buf, start: int, end: int) -> int:
    # Sum of the big-endian words of buf[start:end] (even length, at most _CHUNK bytes), folded
    # twice to at most 0x10000 so the result is a small int on every port (no allocation).
    # Folding keeps the value congruent modulo 0xFFFF and non-zero iff the data is.
    p = ptr8(buf)
    acc = uint(0)
    i = start
    while i < end:
        acc += uint((p[i] << 8) | p[i + 1])
        i += 2
    acc = (acc & 0xFFFF) + (acc >> 16)
    acc = (acc & 0xFFFF) + (acc >> 16)
    return int(acc)


def csum(data, acc=0):
    """Add the 16-bit big-endian words of data (bytes, bytearray or memoryview) to acc."""
    n = len(data)
    even = n & ~1
    i = 0
    while i < even:
        j = even if even - i <= _CHUNK else i + _CHUNK
        acc += _words(data, i, j)
        i = j
    if n & 1:
        acc += data[n - 1] << 8
    return acc


def csum_at(buf, start, end, acc=0):
    """csum of buf[start:end] (even length, at most 64 KB), read in place: no slice."""
    return acc + _words(buf, start, end)
