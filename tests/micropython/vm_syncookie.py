# Runs inside the MicroPython VM. `vm_syncookie.py N`: N cookies over fixed inputs (secret,
# addresses, ports, peer ISNs near 2**32, ticks, every option class), each checked back, one
# "COOKIE CHECKED" a line; the CPython side compares them with lines(N) run there
# (hashlib.sha256 and 32-bit values on the VM's ints).
import sys

from barenet.tcp import syncookie


def cases(n):
    secret = bytes(range(32))
    for i in range(n):
        lip = bytes([192, 0, 2, 2])
        rip = bytes([198, 51, 100, i & 0xFF])
        isn = (0xFFFFFFFF - i * 7919) & 0xFFFFFFFF
        ws = None if i % 16 == 15 else i % 16
        yield (secret, lip, 80 + i, rip, 40000 + i, isn, i * 3, syncookie.MSS_TABLE[i % 4],
               ws, bool(i & 1))


def lines(n):
    out = []
    for c in cases(n):
        cookie = syncookie.encode(*c)
        got = syncookie.check(c[0], c[1], c[2], c[3], c[4], c[5], cookie, c[6] + 2)
        out.append("%d %s" % (cookie, got))
    return out


if __name__ == "__main__":
    for line in lines(int(sys.argv[1])):
        print(line)
