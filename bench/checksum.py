"""The Internet checksum of a 1460-byte segment: CPython's int.from_bytes path, and in the real
MicroPython VM the int.from_bytes fallback against the viper word loop, in one run.

    .venv/bin/python bench/checksum.py

The VM side is tests/micropython/vm_csum.py in its `bench` mode (minimum of 5 x 2000 calls).
"""

import os
import subprocess
import sys
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "shared"))

from barenet.wire.checksum import csum  # noqa: E402


def main():
    data = bytearray((i * 7 + 3) & 0xFF for i in range(1460))
    cpython = min(timeit.repeat(lambda: csum(data), number=20000, repeat=5)) / 20000 * 1e6
    vm = os.path.join(os.path.dirname(sys.executable), "micropython")
    env = dict(os.environ, MICROPYPATH=os.path.join(REPO, "shared"))
    out = subprocess.run([vm, os.path.join(REPO, "tests", "micropython", "vm_csum.py"), "bench"],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    mp = dict(line.split() for line in out.strip().splitlines())
    rows = [("CPython int.from_bytes", cpython), ("MicroPython int.from_bytes", float(mp["from_bytes"])),
            ("MicroPython viper", float(mp["viper"]))]
    print("%-28s %10s %8s" % ("1460-byte csum", "us/call", "vs CPy"))
    for name, us in rows:
        print("%-28s %10.2f %8.2f" % (name, us, us / cpython))


if __name__ == "__main__":
    main()
