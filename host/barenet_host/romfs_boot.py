# The boot of a unix VM with a ROMFS (romfs.py, MicroPython): mount the image at /rom, as a
# board with a ROMFS partition does at start-up, put its roots on sys.path, and run the script.
# On a board /rom and /rom/lib are on sys.path; here root N is /rom/N.
import os
import sys
import uctypes
import vfs

_a, _n, _roots = (int(x) for x in os.getenv("BARENET_ROMFS").split(":"))
vfs.mount(vfs.VfsRom(uctypes.bytearray_at(_a, _n)), "/rom")
_script = sys.argv[1]
sys.path[:] = ["/rom/%d" % i for i in range(_roots)] + [".frozen",
                                                         _script.rsplit("/", 1)[0]]
sys.argv[:] = sys.argv[1:]
_g = {"__name__": "__main__", "__file__": _script}
with open(_script) as _f:
    _code = compile(_f.read(), _script, "exec")
del _a, _n, _roots, _f
exec(_code, _g)
