"""SLIP framing (RFC 1055) and its optional CRC-16/X.25 trailer (RFC 1662 FCS-16):
golden encodings from RFC 1055's escaping rules, round trips through a decoder fed in random
chunks, resynchronisation after line noise, every drop reason counted and nothing raised on
arbitrary input, and the CRC rejecting every single-bit error and every burst of 16 bits or
less over a corpus of frames."""

import random

import crcmod.predefined
import pytest
from hypothesis import given, settings, strategies as st

from barenet.wire import slip
from barenet.wire.slip import Decoder, encode, fcs16

X25 = crcmod.predefined.mkCrcFun("x-25")
CRCS = [None, fcs16, X25]
C0, DB, DC, DD = b"\xc0", b"\xdb", b"\xdc", b"\xdd"


def decode_all(line, chunks=None, **kw):
    d = Decoder(**kw)
    out = []
    if chunks is None:
        out += d.feed(line)
    else:
        i = 0
        for n in chunks:
            out += d.feed(memoryview(line)[i:i + n])
            i += n
        out += d.feed(bytearray(line[i:]))
    return out, d.stats


def drops(stats):
    return {k: v for k, v in stats.items() if k.startswith("drop_") and v}


# -- golden encodings (RFC 1055 "Protocol": END 0xC0, ESC 0xDB, ESC_END 0xDC, ESC_ESC 0xDD) --

@pytest.mark.parametrize("datagram, line", [
    (b"\x01\x02\x03", C0 + b"\x01\x02\x03" + C0),
    (C0, C0 + DB + DC + C0),                       # END in the data: ESC ESC_END
    (DB, C0 + DB + DD + C0),                       # ESC in the data: ESC ESC_ESC
    (DB + DC, C0 + DB + DD + DC + C0),             # an escaped ESC, then a plain 0xDC
    (DB + DD, C0 + DB + DD + DD + C0),
    (C0 + DB + C0, C0 + DB + DC + DB + DD + DB + DC + C0),
    (DC + DD, C0 + DC + DD + C0),                  # ESC_END/ESC_ESC alone are plain data
    (b"", C0 + C0),
])
def test_rfc1055_escaping(datagram, line):
    assert encode(datagram) == line
    assert decode_all(line, min_len=0)[0] == ([datagram] if datagram else [])


def test_fcs16_check_value_and_residue():
    # CRC-16/X.25's catalogue check value; RFC 1662 C.2: over data and its FCS (least
    # significant octet first) the register ends at PPP_GOODFCS 0xF0B8, 0x0F47 complemented
    assert fcs16(b"123456789") == X25(b"123456789") == 0x906E
    assert fcs16(b"123456789\x6e\x90") == 0xF0B8 ^ 0xFFFF
    assert encode(b"123456789", crc=fcs16) == C0 + b"123456789\x6e\x90" + C0


def test_the_fcs_is_escaped_like_the_data():
    data = b"x" * 20
    fcs = fcs16(data)
    line = encode(data, crc=fcs16)
    assert line == encode(data + bytes((fcs & 0xFF, fcs >> 8)))
    # frames whose FCS holds an END or an ESC byte: escaped like data, and decoded
    for special, escaped in ((0xC0, DB + DC), (0xDB, DB + DD)):
        data = next(d for d in (n.to_bytes(2, "big") * 10 for n in range(65536))
                    if special in fcs16(d).to_bytes(2, "little"))
        line = encode(data, crc=fcs16)
        assert line.count(C0) == 2 and escaped in line[-5:]
        assert decode_all(line, crc=fcs16)[0] == [data]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_table_crc_matches_crcmod(data):
    assert fcs16(data) == X25(data) == fcs16(memoryview(data))


# -- round trips ------------------------------------------------------------------------------

datagrams = st.lists(st.binary(min_size=20, max_size=1500), max_size=6)


@settings(max_examples=300, deadline=None)
@given(frames=datagrams, crc=st.sampled_from(CRCS), data=st.data())
def test_round_trip_in_random_chunks(frames, crc, data):
    line = b"".join(encode(f, crc) for f in frames)
    chunks = data.draw(st.lists(st.integers(1, 400), max_size=30))
    out, stats = decode_all(line, chunks, crc=crc)
    assert out == frames
    assert stats["rx"] == len(frames) and not drops(stats)


@settings(max_examples=100, deadline=None)
@given(frames=datagrams, crc=st.sampled_from(CRCS))
def test_round_trip_byte_by_byte(frames, crc):
    line = b"".join(encode(f, crc) for f in frames)
    out, stats = decode_all(line, [1] * len(line), crc=crc)
    assert out == frames


def test_the_table_crc_and_crcmod_frame_alike():
    frames = [bytes(range(256)) * 5, b"\xc0\xdb" * 30]
    for f in frames:
        assert encode(f, fcs16) == encode(f, X25)
        assert decode_all(encode(f, fcs16), crc=X25)[0] == [f]


# -- resynchronisation and drops ---------------------------------------------------------------

GOOD = [bytes(range(i, i + 40)) for i in (0, 100, 200)]


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=3500).map(lambda b: b.replace(C0, b"")),
       chunks=st.lists(st.integers(1, 700), max_size=10))
def test_line_noise_before_frames_is_one_drop_and_the_frames_come_through(garbage, chunks):
    if not garbage:
        return
    line = garbage + b"".join(encode(f, fcs16) for f in GOOD)
    out, stats = decode_all(line, chunks, crc=fcs16)
    assert out == GOOD
    assert sum(drops(stats).values()) == 1


@pytest.mark.parametrize("noise, reason", [
    (b"\x45\x00\x01", "drop_short"),                  # a glitch shorter than any IPv4 header
    (b"x" * 30 + DB + b"\x01" + b"x" * 10, "drop_escape"),   # ESC then neither DC nor DD
    (b"x" * 30 + DB, "drop_escape"),                  # ESC right before END
    (b"y" * 1507, "drop_overrun"),                     # more than mtu + FCS bytes
    ((DB + DC) * 1600, "drop_overrun"),                # escaped to fit the raw bound, not mtu
    (b"z" * 5000, "drop_overrun"),                     # no END for far too long
    (b"x" * 40, "drop_crc"),
])
@pytest.mark.parametrize("chunk", [None, 1, 97])
def test_each_drop_is_counted_and_the_next_frame_arrives(noise, reason, chunk):
    line = encode(GOOD[0], fcs16) + noise + encode(GOOD[1], fcs16)
    chunks = None if chunk is None else [chunk] * (len(line) // chunk)
    out, stats = decode_all(line, chunks, crc=fcs16)
    assert out == GOOD[:2]
    assert drops(stats) == {reason: 1}


def test_without_crc_short_and_bad_runs_are_still_dropped():
    line = C0 + b"abc" + C0 + b"x" * 30 + DB + b"q" + C0 + encode(GOOD[0]) + C0 + C0
    out, stats = decode_all(line)
    assert out == [GOOD[0]]
    assert drops(stats) == {"drop_short": 1, "drop_escape": 1}


def test_mtu_bounds_the_datagram():
    out, stats = decode_all(encode(b"a" * 1006) + encode(b"b" * 1007), mtu=1006)
    assert out == [b"a" * 1006] and drops(stats) == {"drop_overrun": 1}


def test_reset_forgets_a_cut_frame():
    d = Decoder()
    assert d.feed(encode(GOOD[0])[:-10]) == []
    d.reset()
    assert d.feed(encode(GOOD[1])) == [GOOD[1]]
    assert not drops(d.stats)


@settings(max_examples=500, deadline=None)
@given(line=st.binary(max_size=4000), crc=st.sampled_from(CRCS), mtu=st.sampled_from([576, 1500]),
       chunks=st.lists(st.integers(1, 500), max_size=20))
def test_arbitrary_line_bytes_never_raise_and_every_run_is_accounted(line, crc, mtu, chunks):
    out, stats = decode_all(line, chunks, crc=crc, mtu=mtu)
    for d in out:
        assert 20 <= len(d) <= mtu
    assert stats["rx"] == len(out)
    # each non-empty run between ENDs is delivered or dropped once; an overrun that is cut
    # off early is one drop however long it runs on
    runs = [r for r in line.split(C0)[:-1] if r]
    assert sum(drops(stats).values()) + len(out) <= len(runs)


# -- the CRC rejects single-bit errors and short bursts -----------------------------------------

CORPUS = [bytes(random.Random(n).getrandbits(8) for _ in range(n)) for n in (20, 41, 300, 1006)]


def flip(frame, first_bit, pattern, width):
    """frame with the bits of pattern (width bits, LSB first) xored in from first_bit on."""
    v = int.from_bytes(frame, "little") ^ (pattern << first_bit)
    return v.to_bytes(len(frame), "little")


@pytest.mark.parametrize("data", CORPUS, ids=[str(len(f)) for f in CORPUS])
def test_every_single_bit_error_is_dropped(data):
    framed = data + X25(data).to_bytes(2, "little")    # what the FCS covers and carries
    dec = Decoder(crc=X25)
    for bit in range(len(framed) * 8):
        bad = flip(framed, bit, 1, 1)
        assert dec.feed(encode(bad)) == []
    assert dec.stats["drop_crc"] == len(framed) * 8 and dec.stats["rx"] == 0


@pytest.mark.parametrize("data", CORPUS, ids=[str(len(f)) for f in CORPUS])
def test_every_burst_of_16_bits_or_less_is_detected(data):
    # A burst of width w flips its first and last bit and any of those between: at every
    # position, every width, the solid burst, the hollow one and two random fillings.
    framed = data + X25(data).to_bytes(2, "little")
    bits = len(framed) * 8
    rng = random.Random(len(data))
    missed = []
    for width in range(2, 17):
        ends = 1 | 1 << (width - 1)
        for first in range(bits - width + 1):
            for pattern in (ends, (1 << width) - 1, ends | rng.getrandbits(width),
                            ends | rng.getrandbits(width)):
                bad = flip(framed, first, pattern, width)
                if X25(bad[:-2]) == int.from_bytes(bad[-2:], "little"):
                    missed.append((first, width, pattern))
    assert not missed
    # and the decoder drops what the CRC flags: a sample through the whole path
    dec = Decoder(crc=X25)
    for first in range(0, bits - 16, 37):
        assert dec.feed(encode(flip(framed, first, 0xFFFF, 16))) == []
    assert dec.stats["rx"] == 0


def test_constants():
    assert (slip.END, slip.ESC, slip.ESC_END, slip.ESC_ESC) == (C0, DB, DB + DC, DB + DD)
    assert (slip.DEFAULT_MTU, slip.MAX_MTU) == (1006, 1500)


@pytest.mark.parametrize("data", CORPUS[:3], ids=[str(len(f)) for f in CORPUS[:3]])
def test_every_error_pattern_within_16_bits_is_detected_at_sample_positions(data):
    # All 65 535 non-zero patterns of a 16-bit window: every burst of 16 bits or less, and
    # every other error inside the window, at the start, inside the data, straddling the
    # data and the FCS, and on the FCS alone.
    framed = bytearray(data + X25(data).to_bytes(2, "little"))
    bits = len(framed) * 8
    for first in (0, 13, bits // 2 + 5, bits - 16 - 9, bits - 16):
        i, r = divmod(first, 8)
        width = min(3, len(framed) - i)
        window = int.from_bytes(framed[i:i + width], "little")
        missed = 0
        for pattern in range(1, 1 << 16):
            bad = bytearray(framed)
            bad[i:i + width] = (window ^ (pattern << r)).to_bytes(width, "little")
            if X25(bytes(bad[:-2])) == bad[-2] | bad[-1] << 8:
                missed += 1
        assert missed == 0, (first, missed)
