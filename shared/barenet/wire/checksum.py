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


def pseudo(src, dst, proto, length):
    """Partial sum of the IPv4 pseudo-header (RFC 793 3.1 / RFC 768)."""
    return (int.from_bytes(src, "big") + int.from_bytes(dst, "big")) + proto + length


try:
    # MicroPython with the native emitter: the same contract, ~10x faster there (_csum_viper.py).
    # CPython has no `micropython` module (ImportError); a port built without the emitter
    # rejects the @micropython.viper decorator when compiling the module (SyntaxError).
    from ._csum_viper import csum  # noqa: F811
except (ImportError, SyntaxError):
    pass
