"""wire/checksum.py against scapy's independent RFC 1071 implementation (scapy.utils.checksum)."""

from hypothesis import given, settings, strategies as st
from scapy.utils import checksum as scapy_checksum

from barenet.wire.checksum import addr_sum, checksum, csum, csum_at, finish, pseudo


def test_rfc1071_example():
    # RFC 1071 3: the words 0001 f203 f4f5 f6f7 sum (with end-around carry) to ddf2.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert finish(csum(data)) == (~0xDDF2) & 0xFFFF == scapy_checksum(data)


def test_zero_and_negative_zero():
    # All-zero data sums to +0 (checksum 0xFFFF); data summing to 0xFFFF is -0 (checksum 0).
    assert checksum(b"") == 0xFFFF == scapy_checksum(b"")
    assert checksum(bytes(6)) == 0xFFFF == scapy_checksum(bytes(6))
    assert checksum(b"\xff\xff") == 0 == scapy_checksum(b"\xff\xff")
    assert checksum(b"\x80\x00\x7f\xff") == 0 == scapy_checksum(b"\x80\x00\x7f\xff")


def test_odd_tail_is_padded_with_zero():
    assert checksum(b"\x12") == checksum(b"\x12\x00") == scapy_checksum(b"\x12")
    assert checksum(b"\xab\xcd\xef") == scapy_checksum(b"\xab\xcd\xef")


def test_buffer_types_agree():
    data = bytes(range(1, 200))
    mv = memoryview(bytearray(b"xx" + data + b"yy"))[2:-2]
    assert checksum(data) == checksum(bytearray(data)) == checksum(mv) == scapy_checksum(data)


def test_pseudo_header_matches_explicit_words():
    src, dst = bytes([192, 0, 2, 1]), bytes([203, 0, 113, 9])
    explicit = src + dst + bytes([0, 17]) + (1234).to_bytes(2, "big")
    assert finish(pseudo(src, dst, 17, 1234)) == scapy_checksum(explicit)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_random_data_matches_scapy(data):
    assert checksum(data) == scapy_checksum(data)
    assert checksum(memoryview(data)) == scapy_checksum(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6), st.binary(max_size=301))
def test_chaining_even_pieces_equals_whole(pieces, last):
    # Chaining is valid when every piece but the last has even length.
    pieces = [p if len(p) % 2 == 0 else p + b"\x00" for p in pieces]
    acc = 0
    for p in pieces:
        acc = csum(p, acc)
    acc = csum(last, acc)
    assert finish(acc) == scapy_checksum(b"".join(pieces) + last)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=1500))
def test_data_plus_its_checksum_verifies_to_zero(data):
    if len(data) & 1:
        data += b"\x00"
    c = checksum(data)
    assert checksum(data + c.to_bytes(2, "big")) == 0


@given(st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4),
       st.integers(0, 255), st.integers(0, 65535), st.binary(max_size=64))
def test_pseudo_header_as_words_chains_like_the_big_int_form(src, dst, proto, n, data):
    # the words' sum (a small int) and the addresses read as 32-bit ints (heap ints on 32-bit
    # ports, what pseudo() summed before) give the same checksum over any following data
    big = int.from_bytes(src, "big") + int.from_bytes(dst, "big") + proto + n
    assert finish(csum(data, pseudo(src, dst, proto, n))) == finish(csum(data, big))
    assert pseudo(src, dst, proto, n) == addr_sum(src, dst) + proto + n < 4 * 65536 + 65536 * 2


@given(st.binary(max_size=200), st.integers(0, 100), st.integers(0, 100))
def test_csum_at_is_csum_of_the_range(data, a, b):
    buf = bytearray(data)
    start, end = sorted((min(a, len(buf)), min(b, len(buf))))
    end -= (end - start) & 1                     # even length, as its callers use it
    assert finish(csum_at(buf, start, end, 7)) == finish(csum(buf[start:end], 7))
    assert finish(csum_at(memoryview(buf), start, end)) == finish(csum(bytes(buf[start:end])))
