# The virtual board's REPL: a MicroPython script the unix VM runs behind `barenet
# virtual-board` (virtual_board.py). It speaks what MicroPython's pyexec.c speaks on a
# board's UART, enough for the real mpremote: the raw REPL, raw-paste mode and a small
# friendly REPL. Protocol facts: shared/reference/virtual-board-notes.md section 2.
#
# One process is one "power cycle": a soft reset exits with status 10 (back to the raw
# REPL) or 11 (friendly REPL), machine.reset() with 12, and the launcher starts a fresh VM.
# Environment: VB_FD is a non-blocking descriptor of stdin (bulk reads: sys.stdin reads
# one byte per call), VB_STATUS_FD a pipe where "B"/"I" say busy running user code or idle
# (the launcher turns a host Ctrl-C into SIGINT only while busy), VB_ROOT the board's file
# system, VB_MODE "raw" or "friendly".
import io
import os
import select
import sys
import vfs

EXIT_RAW = 10
EXIT_FRIENDLY = 11
EXIT_RESET = 12
# pyexec.c: the raw-paste window is half of MICROPY_REPL_STDIN_BUFFER_MAX; a bigger one
# only means fewer flow-control bytes.
WINDOW = 4096
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
BANNER = "MicroPython %s on barenet-virtual; unix VM with barenet virtual-board\r\n" \
    "Type \"help()\" for more information.\r\n" % sys.version.split(" ")[-1]

_in = open(int(os.getenv("VB_FD")), "rb")
_status = open(int(os.getenv("VB_STATUS_FD")), "wb")
_out = sys.stdout.buffer
_poll = select.poll()
_poll.register(_in, select.POLLIN)
# preallocated: the board's heap is small (192 KB) and a fresh 64 KB read per call fragments it
_buf = bytearray(4096)
_len = 0
_pos = 0


def write(b):
    _out.write(b)


def getc():
    global _len, _pos
    while _pos >= _len:
        _poll.poll(-1)
        _len = _in.readinto(_buf) or 0
        _pos = 0
    _pos += 1
    return _buf[_pos - 1]


class BoardFS:
    """VfsPosix(root) mounted at /, with sizes in ilistdir (mpremote's ls shows them; plain
    VfsPosix gives 3-tuples) and `..` kept inside the root."""

    def __init__(self, root):
        self.fs = vfs.VfsPosix(root)

    def _p(self, path):
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def ilistdir(self, path):
        path = self._p(path)
        for entry in self.fs.ilistdir(path):
            name = entry[0]
            size = 0
            if entry[1] == 0x8000:
                size = self.fs.stat(path.rstrip("/") + "/" + name)[6]
            yield (name, entry[1], 0, size)

    def open(self, path, mode):
        return self.fs.open(self._p(path), mode)

    def stat(self, path):
        return self.fs.stat(self._p(path))

    def statvfs(self, path):
        return self.fs.statvfs(self._p(path))

    def remove(self, path):
        return self.fs.remove(self._p(path))

    def rmdir(self, path):
        return self.fs.rmdir(self._p(path))

    def mkdir(self, path):
        return self.fs.mkdir(self._p(path))

    def rename(self, old, new):
        return self.fs.rename(self._p(old), self._p(new))

    def chdir(self, path):
        pass

    def getcwd(self):
        return ""


class Machine:
    """`machine` as a board has it where the unix port lacks it: reset() power-cycles."""

    def __init__(self, real):
        self._real = real
        self.reset_requested = False

    def __getattr__(self, name):
        return getattr(self._real, name)

    def reset(self):
        self.reset_requested = True
        raise SystemExit(EXIT_RESET)

    def soft_reset(self):
        raise SystemExit(EXIT_RAW)


def run(code, glob, mode):
    """Execute as pyexec.c does: return an exit status if the code asked for a reset."""
    _status.write(b"B")
    err = None
    try:
        try:
            exec(code, glob)
        finally:
            _status.write(b"I")
    except SystemExit:
        return EXIT_RESET if _machine.reset_requested else mode
    except BaseException as e:
        err = e
    if err is not None:
        buf = io.StringIO()
        sys.print_exception(err, buf)
        lines = buf.getvalue().split("\n")
        # the exec() frame is this file's, not the user's: a board shows only <stdin>
        lines = [ln for ln in lines if "vboard_shim" not in ln]
        return "\n".join(lines)
    return None


def raw_repl(glob):
    write(RAW_BANNER + b">")
    line = bytearray()
    while True:
        c = getc()
        if c == 1:  # Ctrl-A: (re)enter the raw REPL
            line = bytearray()
            write(b"\r\n" + RAW_BANNER + b">")
        elif c == 2:  # Ctrl-B: the friendly REPL
            write(b"\r\n")
            return friendly_repl(glob)
        elif c == 3:
            line = bytearray()
        elif c == 5 and not line:
            if getc() == ord("A") and getc() == 1:
                raw_paste(glob)
            write(b">")
        elif c == 4:
            write(b"OK")
            if not line:  # an empty command is a soft reset
                write(b"\r\nMPY: soft reboot\r\n")
                return EXIT_RAW
            result = run(bytes(line), glob, EXIT_RAW)
            line = bytearray()
            if finish(result):
                return result
            write(b">")
        else:
            line.append(c)


def finish(result):
    """The output framing: output, \\x04, error text, \\x04. True if the board resets."""
    if isinstance(result, int):
        write(b"\x04\x04")
        if result != EXIT_RESET:
            write(b"MPY: soft reboot\r\n")
        return True
    write(b"\x04" + (result or "").encode() + b"\x04")
    return False


def raw_paste(glob):
    # pyexec.c raw-paste: "R\x01", the window (u16 LE); an \x01 each time a window is taken
    write(b"R\x01" + bytes((WINDOW & 0xFF, WINDOW >> 8)))
    code = bytearray()
    taken = 0
    while True:
        c = getc()
        if c == 4:
            break
        code.append(c)
        taken += 1
        if taken == WINDOW:
            taken = 0
            write(b"\x01")
    write(b"\x04")
    result = run(bytes(code), glob, EXIT_RAW)
    if finish(result):
        sys.exit(result)


def friendly_repl(glob):
    write(BANNER.encode() + b">>> ")
    line = bytearray()
    while True:
        c = getc()
        if c == 1:
            write(b"\r\n")
            return raw_repl(glob)
        if c == 3:
            line = bytearray()
            write(b"\r\nKeyboardInterrupt\r\n>>> ")
        elif c == 4 and not line:
            write(b"\r\nMPY: soft reboot\r\n")
            return EXIT_FRIENDLY
        elif c in (8, 127):
            if line:
                line = line[:-1]
                write(b"\x08 \x08")
        elif c == 13:
            write(b"\r\n")
            if line:
                try:
                    code = compile(bytes(line).decode(), "<stdin>", "single")
                except SyntaxError as e:
                    code = None
                    write(b"SyntaxError: %s\r\n" % e.args[0].encode())
                line = bytearray()
                result = run(code, glob, EXIT_FRIENDLY) if code else None
                if isinstance(result, int):
                    return result
                if result:
                    write(result.replace("\n", "\r\n").encode())
            write(b">>> ")
        elif c >= 32:
            line.append(c)
            write(bytes((c,)))


def boot_file(name, glob):
    try:
        os.stat(name)
    except OSError:
        return None
    with open(name) as f:
        code = f.read()
    result = run(code, glob, EXIT_FRIENDLY)
    if isinstance(result, str):
        write(result.replace("\n", "\r\n").encode())
    return result if isinstance(result, int) else None


def main():
    vfs.umount("/")
    vfs.mount(BoardFS(os.getenv("VB_ROOT")), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]
    glob = {"__name__": "__main__"}
    status = boot_file("boot.py", glob)
    if status is None and os.getenv("VB_MODE") == "raw":
        status = raw_repl(glob)
    if status is None:
        # main.py runs only on the way to the friendly REPL, as on rp2 and stm32
        status = boot_file("main.py", glob) or friendly_repl(glob)
    sys.exit(status)


_machine = Machine(__import__("machine"))
sys.modules["machine"] = _machine
main()
