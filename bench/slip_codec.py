"""SLIP framing per 1006-byte datagram (barenet/wire/slip.py): the codec's whole-run
split/count/replace against a byte-at-a-time loop (the obvious way, kept here only as the
yardstick), and the CRC trailer by the core's table against crcmod's C, on CPython; the codec
with its table CRC in the real MicroPython VM.

    .venv/bin/python bench/slip_codec.py

Each figure is the minimum of 5 runs. The datagram holds END and ESC bytes at random's rate
(1 in 128), as IP payloads do.
"""

import os
import random
import subprocess
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "shared"))

import crcmod.predefined  # noqa: E402

from barenet.wire import slip  # noqa: E402

DATAGRAM = bytes(random.Random(1055).getrandbits(8) for _ in range(1006))
VM_SCRIPT = """
import time
from barenet.wire import slip
d = bytes.fromhex(%r)
def t(fn, n):
    best = None
    for _ in range(5):
        t0 = time.ticks_us()
        for _ in range(n):
            fn()
        us = time.ticks_diff(time.ticks_us(), t0) / n
        best = us if best is None or us < best else best
    return best
line = slip.encode(d)
crc_line = slip.encode(d, slip.fcs16)
print("encode", t(lambda: slip.encode(d), 200))
print("decode", t(lambda: slip.Decoder().feed(line), 200))
print("encode_crc", t(lambda: slip.encode(d, slip.fcs16), 50))
print("decode_crc", t(lambda: slip.Decoder(crc=slip.fcs16).feed(crc_line), 50))
"""


def encode_per_byte(d):
    out = bytearray(b"\xc0")
    for b in d:
        if b == 0xC0:
            out += b"\xdb\xdc"
        elif b == 0xDB:
            out += b"\xdb\xdd"
        else:
            out.append(b)
    out.append(0xC0)
    return bytes(out)


def decode_per_byte(line):
    frames, cur, esc = [], bytearray(), False
    for b in line:
        if esc:
            cur.append(0xC0 if b == 0xDC else 0xDB)
            esc = False
        elif b == 0xDB:
            esc = True
        elif b == 0xC0:
            if cur:
                frames.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(b)
    return frames


def us(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main():
    x25 = crcmod.predefined.mkCrcFun("x-25")
    line = slip.encode(DATAGRAM)
    assert encode_per_byte(DATAGRAM) == line and decode_per_byte(line) == [DATAGRAM]
    crc_line = slip.encode(DATAGRAM, x25)
    rows = [
        ("encode, per-byte loop", us(lambda: encode_per_byte(DATAGRAM), 500)),
        ("encode, codec", us(lambda: slip.encode(DATAGRAM), 20000)),
        ("decode, per-byte loop", us(lambda: decode_per_byte(line), 500)),
        ("decode, codec", us(lambda: slip.Decoder().feed(line), 20000)),
        ("CRC, core table", us(lambda: slip.fcs16(DATAGRAM), 500)),
        ("CRC, crcmod", us(lambda: x25(DATAGRAM), 20000)),
        ("encode + decode with crc, crcmod", us(
            lambda: slip.Decoder(crc=x25).feed(slip.encode(DATAGRAM, x25)), 20000)),
    ]
    assert slip.Decoder(crc=x25).feed(crc_line) == [DATAGRAM]
    print("CPython %s, 1006-byte datagram" % sys.version.split()[0])
    print("%-36s %9s" % ("", "us"))
    for name, t in rows:
        print("%-36s %9.2f" % (name, t))
    print("ratios: encode %.1fx, decode %.1fx, CRC %.1fx faster than per byte / the table"
          % (rows[0][1] / rows[1][1], rows[2][1] / rows[3][1], rows[4][1] / rows[5][1]))
    vm = os.path.join(os.path.dirname(sys.executable), "micropython")
    env = dict(os.environ, MICROPYPATH=os.path.join(REPO, "shared"))
    out = subprocess.run([vm, "-c", VM_SCRIPT % DATAGRAM.hex()], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    print("MicroPython VM (codec, table CRC):")
    for row in out.split("\n"):
        if row:
            name, t = row.split()
            print("  %-34s %9.1f" % (name, float(t)))


if __name__ == "__main__":
    main()
