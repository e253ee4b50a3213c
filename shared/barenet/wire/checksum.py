"""The Internet checksum (RFC 1071), shared by IPv4, ICMP, UDP and TCP.

`csum` returns an unfolded partial sum so pieces (pseudo-header, header, payload) can be
chained without concatenating buffers; `finish` folds and complements it. The sum of the
16-bit words of a buffer is congruent to the buffer read as one big integer modulo 0xFFFF
(2**16 = 1 mod 0xFFFF), so one int.from_bytes does the work of a word loop on CPython and on
MicroPython (measured ~5 us for 1460 bytes on CPython, see DESIGN.md).
"""


def csum(data, acc=0):
    """Add the 16-bit big-endian words of data to acc (an odd tail byte is padded with zero).

    Chaining is only valid when every piece but the last has an even length.
    """
    n = len(data)
    if n & 1:
        return acc + (int.from_bytes(data, "big") << 8)
    return acc + int.from_bytes(data, "big")


def finish(acc):
    """Fold a partial sum to 16 bits and complement it: the value that goes on the wire."""
    r = acc % 0xFFFF
    if r == 0 and acc:
        r = 0xFFFF  # one's complement sum of non-zero data is "negative zero"
    return (~r) & 0xFFFF


def checksum(data):
    return finish(csum(data))


def csum_at(buf, start, end, acc=0):
    """csum of buf[start:end] (even length) without the caller making a slice: on MicroPython
    with the native emitter the viper word loop reads buf in place, so nothing is allocated
    (here, a slice and an int.from_bytes, as csum)."""
    return acc + int.from_bytes(buf[start:end], "big")


def addr_sum(src, dst):
    """The sum of the 16-bit words of two 4-byte IPv4 addresses: a small int, where
    int.from_bytes of an address >= 64.0.0.0 would be a heap int on 32-bit ports."""
    return ((src[0] << 8) | src[1]) + ((src[2] << 8) | src[3]) + \
        ((dst[0] << 8) | dst[1]) + ((dst[2] << 8) | dst[3])


def pseudo(src, dst, proto, length):
    """Partial sum of the IPv4 pseudo-header (RFC 793 3.1 / RFC 768), as 16-bit words."""
    return addr_sum(src, dst) + proto + length


try:
    # MicroPython with the native emitter: the same contract, ~10x faster there (_csum_viper.py).
    # CPython has no `micropython` module (ImportError); a port built without the emitter
    # rejects the @micropython.viper decorator when compiling the module (SyntaxError).
    from ._csum_viper import csum, csum_at  # noqa: F811
except (ImportError, SyntaxError):
    pass
