# Runs inside the MicroPython VM. `vm_csum.py check FILE`: FILE holds one case a line,
# "OFFSET ACC HEXDATA" ("-" for no data); the data is checksummed as a memoryview slice starting OFFSET bytes into
# a bytearray (and as bytes when OFFSET is 0), printing "CSUM FINISH" per case for the CPython
# side to compare. `vm_csum.py bench`: microseconds per 1460-byte csum, int.from_bytes vs viper.
import sys
import time

from barenet.wire import checksum


def check(path):
    with open(path) as f:
        for line in f:
            off, acc, hexdata = line.split()
            off = int(off)
            acc = int(acc)
            data = b"" if hexdata == "-" else bytes.fromhex(hexdata)
            if off:
                buf = bytearray(b"\xa5" * off + data + b"\x5a" * 3)
                view = memoryview(buf)[off:off + len(data)]
            else:
                view = data
            s = checksum.csum(view, acc)
            print(s, checksum.finish(s))


def from_bytes(data, acc=0):
    # The portable csum checksum.py uses when viper is not there.
    if len(data) & 1:
        return acc + (int.from_bytes(data, "big") << 8)
    return acc + int.from_bytes(data, "big")


def per_call_us(fn, data, rounds):
    t = time.ticks_us()
    for _ in range(rounds):
        checksum.finish(fn(data))
    return time.ticks_diff(time.ticks_us(), t) / rounds


def bench():
    data = bytearray((i * 7 + 3) & 0xFF for i in range(1460))
    from barenet.wire import _csum_viper
    assert checksum.csum is _csum_viper.csum, "checksum.py did not pick up the viper csum"
    for name, fn in (("from_bytes", from_bytes), ("viper", _csum_viper.csum)):
        per_call_us(fn, data, 200)  # warm up
        print(name, "%.2f" % min(per_call_us(fn, data, 2000) for _ in range(5)))


if sys.argv[1] == "check":
    check(sys.argv[2])
else:
    bench()
