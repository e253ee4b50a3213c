"""`make demo`: the whole story, with no hardware.

1. A virtual board (`barenet virtual-board`: the MicroPython unix VM behind a pty) powers on.
2. The bridge to the host starts: as root, `barenet bridge --tun` in a private network
   namespace (NETWORK-RULES.md), so that the kernel reaches the board at 192.0.2.2; without
   root, `barenet bridge --nat`, whose DHCP server leases the board 192.0.2.15 and whose
   forwards let host connections in to the board's services.
3. `barenet flash` compiles the core and the firmware with mpy-cross and copies them with the
   real mpremote; the board resets and boots barenet's firmware.
4. `barenet client` finds the board and uses it: discover, ping, its counters from the status
   page, 1 MB through the echo service (sha256 checked) and a throughput run. As root the
   kernel's own view follows (`ip route`, `ping`, the TUN's counters). Without root, ping and
   discovery go over the board's link itself (`client --via`): a user-mode NAT, like QEMU's,
   carries the board's own traffic out but no pings in.
5. A short report, ending `demo OK`, or naming the steps that failed.
"""

import argparse
import hashlib
import os
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from barenet_host.netns import NetNS, unique_name

HOST_END = "192.0.2.1"
BOARD_IP = {True: "192.0.2.2", False: "192.0.2.15"}    # kernel mode (root), NAT's lease
HOSTNAME = "barenet-demo"
STEP_TIMEOUT_S = 60
BOOT_TIMEOUT_S = 30
# what the board prints when its firmware stops: the VM's traceback, the firmware's own error
CRASHED = ("Traceback (most recent call last)", "error: cannot start")
ECHO_BYTES = 1 << 20
BENCH_BYTES = 1000000


def say(text=""):
    print(text, flush=True)


def _barenet():
    """How to run `barenet` the way this process was run (the same interpreter and flags:
    a demo run as nobody from a copy runs with -E -S, cwd the copy)."""
    flags = [f for f, on in (("-E", sys.flags.ignore_environment), ("-S", sys.flags.no_site),
                             ("-B", sys.flags.dont_write_bytecode)) if on]
    # a venv's link into a home that this user may not enter: another python3 of the same
    # version on PATH
    same = shutil.which("python%d.%d" % sys.version_info[:2])
    exe = next((e for e in (sys.executable, same) if e and os.access(e, os.X_OK)),
               sys.executable)
    return [exe] + flags + ["-m", "barenet_host.cli"]


def _boards_dir():
    # beside barenet_host in a checkout (host/../boards), or in a copy (barenet_host/../boards)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for d in (os.path.join(here, "..", "boards"), os.path.join(here, "boards")):
        if os.path.exists(os.path.join(d, "virtual.json")):
            return os.path.abspath(d)
    raise SystemExit("barenet demo: no boards/virtual.json beside %s" % here)


class Lines:
    """The lines a process or the board prints, read by a thread and kept for wait(); show
    prints each as it comes, with a prefix, once set."""

    def __init__(self, lines):
        self.lines = []
        self.show = None
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self.reader.start()

    def _read(self, lines):
        for line in lines:
            with self.cond:
                self.lines.append(line.rstrip("\r\n"))
                if self.show is not None:
                    say(self.show + self.lines[-1])
                self.cond.notify_all()

    def wait(self, text, timeout=BOOT_TIMEOUT_S, start=0, unless=()):
        """The index of the first line from start on that contains text, or None; None at
        once when a line contains one of unless (the board crashed: no use waiting)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if text in self.lines[i]:
                        return i
                    if any(u in self.lines[i] for u in unless):
                        return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def _pty_lines(pty, stop):
    """The board's REPL output (its firmware's log), from the virtual board's pty once
    mpremote has let go of it, until stop is set (mpremote's turn again)."""
    fd = os.open(pty, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        buf = b""
        while not stop.is_set():
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace")
    finally:
        os.close(fd)


class Story:
    """The steps run so far, each shown as the command and its output, and whether it went
    right; the report at the end."""

    def __init__(self, ns=None):
        self.ns = ns
        self.results = []

    def check(self, title, ok, detail=""):
        self.results.append((title, bool(ok), detail))
        return ok

    def run(self, title, cmd, *, expect=None, show=None, stderr_to_terminal=False, ns=True):
        """Run cmd (in the namespace, as root), show it and its output; the step passes if it
        exits 0 and its output contains every text in expect."""
        shown = [os.path.basename(c) if i == 0 else c for i, c in enumerate(_shown(cmd))]
        say("$ " + shlex.join(shown))
        argv = self.ns.argv(cmd) if self.ns is not None and ns else cmd
        started = time.monotonic()
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, text=True, timeout=STEP_TIMEOUT_S,
                               stderr=None if stderr_to_terminal else subprocess.STDOUT)
            out, code = r.stdout, r.returncode
        except subprocess.TimeoutExpired as e:
            out, code = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else \
                (e.stdout or ""), "timeout after %d s" % STEP_TIMEOUT_S
        secs = time.monotonic() - started
        for line in out.rstrip().splitlines():
            if show is None or show(line):
                say("  " + line)
        missing = [t for t in (expect or ()) if t not in out]
        ok = code == 0 and not missing
        detail = "%.1f s" % secs if ok else "exit %s%s" % (
            code, "; missing %r" % missing if missing else "")
        self.check(title, ok, detail)
        say()
        return ok, out

    def report(self, started):
        say("report")
        for title, ok, detail in self.results:
            say("  %-4s %-44s %s" % ("ok" if ok else "FAIL", title, detail))
        failed = [t for t, ok, _ in self.results if not ok]
        say("  %d steps in %.1f s" % (len(self.results), time.monotonic() - started))
        say("demo OK" if not failed else "demo FAILED: " + "; ".join(failed))
        return 1 if failed else 0


def _shown(cmd):
    # `python -m barenet_host.cli ARGS` is shown as the command a user types, barenet ARGS,
    # and `python -m mpremote ARGS` as mpremote ARGS
    for module, name in (("barenet_host.cli", "barenet"), ("mpremote", "mpremote")):
        if module in cmd[:6] and cmd[cmd.index(module) - 1] == "-m":
            return [name] + cmd[cmd.index(module) + 1:]
    return cmd


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _started(proc, what):
    """proc's output as Lines, shown as it comes; whether it printed what in time."""
    out = Lines(iter(proc.stdout.readline, ""))
    out.show = "  "
    return out, out.wait(what) is not None


def demo(root, tmp, board_file):
    bn = _barenet()
    board_ip = BOARD_IP[root]
    story = Story()
    procs = []
    log = None
    log_shown = 0
    ns = None
    try:
        say("== 1. a virtual board: the MicroPython unix VM behind a pty")
        fs = os.path.join(tmp, "board")
        os.mkdir(fs)
        nic = os.path.join(tmp, "board.nic")
        cmd = bn + ["virtual-board", "--dir", fs, "--board", board_file, "--nic-path", nic]
        say("$ " + shlex.join(_shown(cmd)))
        vb = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        procs.append(vb)
        vb_out, up = _started(vb, "virtual-board: power on")
        if not story.check("virtual board powers on", up):
            return story
        pty = vb_out.lines[vb_out.wait("virtual-board: repl ")].split()[-1]
        say()

        say("== 2. bridge the board's link to this host")
        if root:
            ns = story.ns = NetNS()
            ns.__enter__()
            tun = unique_name("bd")
            bridge_cmd = bn + ["bridge", "--board", "unix:%s,crc" % nic, "--tun", tun,
                               "--local", HOST_END, "--peer", board_ip,
                               "--ctl", os.path.join(tmp, "bridge.sock")]
            say("(as root: in the private network namespace %s, the kernel is %s on the TUN %s)"
                % (ns.name, HOST_END, tun))
            ready = "barenet: bridge: board %s" % board_ip
        else:
            ports = {p: _free_port() for p in ("http", "echo", "discard", "chargen", "discovery")}
            bridge_cmd = bn + ["bridge", "--board", "unix:%s,crc" % nic, "--nat",
                               "--dns", "127.0.0.1:1", "--ctl", os.path.join(tmp, "bridge.sock")]
            for name, board_port in (("http", 80), ("echo", 7), ("discard", 9),
                                     ("chargen", 19)):
                bridge_cmd += ["--forward", "tcp:127.0.0.1:%d=%d" % (ports[name], board_port)]
            bridge_cmd += ["--forward", "udp:127.0.0.1:%d=48879" % ports["discovery"]]
            say("(without root: barenet's user-mode NAT is the board's gateway %s and DHCP "
                "server; host ports are forwarded in to the board)" % HOST_END)
            ready = "barenet: bridge: NAT for the board %s" % board_ip
        say("$ " + shlex.join(_shown(bridge_cmd)))
        bridge = (ns.popen(bridge_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True) if ns else
                  subprocess.Popen(bridge_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True))
        procs.append(bridge)
        bridge_out, up = _started(bridge, ready)
        bridge_out.show = None   # its later lines stay out of the clients' output
        if not story.check("bridge up", up):
            return story
        say()

        say("== 3. flash barenet's firmware onto the board with mpremote")
        flash = bn + ["flash", "--board", board_file, "--port", pty,
                      "--set", "hostname=" + HOSTNAME]
        if root:
            # the kernel-mode bridge has no DHCP server: the board takes the TUN's peer address
            flash += ["--set", "net.mode=static", "--set", "net.address=%s/24" % board_ip,
                      "--set", "net.gateway=" + HOST_END]
        ok, _ = story.run("flash (mpy-cross, mpremote, CRC-32 checked)", flash,
                          expect=["flash: copied", "flash: reset"])
        if not ok:
            return story
        log_stop = threading.Event()
        log = Lines(_pty_lines(pty, log_stop))
        i = log.wait("address %s/24" % board_ip, unless=CRASHED)
        if i is None:
            time.sleep(0.5)          # the rest of a traceback
        shown = log.lines[:None if i is None else i + 1]
        for line in shown:
            say("  board| " + line)
        log_shown = len(shown)
        if not story.check("board boots, has %s" % board_ip, i is not None):
            return story
        if not root:
            story.check("DHCP lease from the bridge", any(
                "DHCP: bound %s/24" % board_ip in ln for ln in log.lines))
        mdns = log.wait("mDNS: %s.local is %s" % (HOSTNAME, board_ip), timeout=10)
        story.check("mDNS: %s.local announced" % HOSTNAME, mdns is not None)
        if mdns is not None:
            say("  board| " + log.lines[mdns])
        say()

        say("== 4. barenet client uses the board")
        payload = os.path.join(tmp, "1MB.bin")
        with open(payload, "wb") as f:
            f.write(hashlib.sha256(b"barenet demo").digest() * (ECHO_BYTES // 32))
        if root:
            story.run("client discover", bn + ["client", "discover", "--wait", "2"],
                      expect=[HOSTNAME, board_ip])
            story.run("client ping", bn + ["client", "ping", "-c", "3", "-i", "0.2", board_ip],
                      expect=["3 received"])
            story.run("client stats (status page)", bn + ["client", "stats", board_ip],
                      show=lambda ln: not ln.startswith(" ") or "tcp" in ln, expect=["tcp"])
            story.run("client send 1 MB through echo", bn + ["client", "send", payload,
                                                                board_ip], expect=["sha256"])
            story.run("client bench", bn + ["client", "bench", "--bytes", str(BENCH_BYTES),
                                            board_ip], stderr_to_terminal=True,
                      expect=["MB/s"])
            say("== 5. the kernel's side (a point-to-point TUN: a route, no neighbours)")
            story.run("kernel: ip route get", ["ip", "route", "get", board_ip])
            story.run("kernel: ping", ["ping", "-c", "3", "-i", "0.2", "-W", "2", board_ip],
                      expect=["3 received"])
            story.run("kernel: curl the status page", [
                "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w",
                "HTTP %{http_code}, %{size_download} bytes of %{content_type}\n",
                "http://%s/" % board_ip], expect=["HTTP 200"])
            story.run("kernel: TUN counters", ["ip", "-s", "link", "show", "dev", tun])
        else:
            here = "127.0.0.1"
            story.run("client discover (UDP forward)",
                      bn + ["client", "discover", "--to", here, "--port",
                            str(ports["discovery"]), "--wait", "2"], expect=[HOSTNAME])
            story.run("client stats (status page, TCP forward)",
                      bn + ["client", "stats", "%s:%d" % (here, ports["http"])],
                      show=lambda ln: not ln.startswith(" ") or "tcp" in ln, expect=["tcp"])
            story.run("client send 1 MB through echo (forward)",
                      bn + ["client", "send", payload, "%s:%d" % (here, ports["echo"])],
                      expect=["sha256"])
            story.run("client bench (forwards)",
                      bn + ["client", "bench", "--bytes", str(BENCH_BYTES),
                            "--discard-port", str(ports["discard"]),
                            "--chargen-port", str(ports["chargen"]), here],
                      stderr_to_terminal=True, expect=["MB/s"])
            story.run("ctl: the NAT's flows", bn + ["ctl", "--socket",
                                                     os.path.join(tmp, "bridge.sock"), "nat"])
            say("== 5. the cable moves from the bridge to the client (client --via)")
            _stop(bridge)
            n = len(log.lines)
            story.check("board sees the link go", log.wait("link down", start=n) is not None)
            via = ["--via", "unix:%s,crc" % nic, "--timeout", "20"]
            story.run("client --via ping", bn + ["client"] + via + [
                "ping", "-c", "3", "-i", "0.2", board_ip], expect=["3 received"])
            story.run("client --via discover", bn + ["client"] + via + [
                "discover", "--wait", "2"], expect=[HOSTNAME])
        say("== 6. the board's REPL: its stack's counters, read where the stack runs")
        log_stop.set()
        log.reader.join(5)       # the log's reader lets go of the pty, or it eats mpremote's
        story.run("mpremote: the board's counters", bn[:bn.index("-m")] + [
            "-m", "mpremote", "connect", pty, "resume", "exec",
            's = firmware.stack.stats; print("ip", s["ip"]); print("tcp", s["tcp"])'],
            expect=["ip {", "tcp {"], ns=False)
        return story
    finally:
        later = log.lines[log_shown:] if log is not None else []
        if later and any(not ok for _, ok, _ in story.results):
            say("the board's log since, to see what went wrong:")
            for line in later[-40:]:
                say("  board| " + line)
        for p in reversed(procs):
            _stop(p)
        if ns is not None:
            ns.__exit__(None, None, None)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m barenet_host.demo",
                                description="make demo: flash a virtual board and use it")
    p.add_argument("--board", metavar="FILE", help="the virtual board's file (default "
                   "boards/virtual.json)")
    args = p.parse_args(argv)
    board_file = args.board or os.path.join(_boards_dir(), "virtual.json")
    if not os.path.exists(board_file):
        p.error("--board %s: no such file" % board_file)
    started = time.monotonic()
    root = os.geteuid() == 0
    say("barenet demo: %s" % ("as root: the board is bridged to the kernel in a private "
                              "network namespace" if root else
                              "not root: the board is bridged through barenet's user-mode NAT "
                              "(run as root to bridge it to the kernel)"))
    say()
    tmp = tempfile.mkdtemp(prefix="barenet-demo-")
    try:
        story = demo(root, tmp, board_file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return story.report(started)


if __name__ == "__main__":
    sys.exit(main())
