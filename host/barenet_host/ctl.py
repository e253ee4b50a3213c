"""The control socket of `barenet serve`, and the client `barenet ctl` uses.

`barenet serve` listens on an AF_UNIX stream socket whose path follows from the device
(`default_path(device_name(spec))`), or `--ctl PATH`. The protocol is one request line (a command word, at most
MAX_REQUEST bytes) answered by one JSON object on one line, after which the server closes:

    $ printf 'stats\\n' | socat - UNIX-CONNECT:/run/barenet/bn0.sock
    {"stats": {...}, "limits": {...}, "serve": {...}}

An unknown command gets {"error": "..."}; the server then half-closes and waits for the
client to close (or its deadline). The server runs inside the runner's select loop
(`Runner.add_fd`, a task for replies the socket cannot take at once): it never blocks the stack,
holds at most MAX_CLIENTS clients, and drops one that does not finish within CLIENT_TIMEOUT_MS.
"""

import json
import os
import socket
import stat

from barenet import ticks

from barenet_host.runner import accept_backoff

MAX_REQUEST = 256
MAX_CLIENTS = 8
CLIENT_TIMEOUT_MS = 5000
_SEND_RETRY_MS = 10


def default_path(tap, euid=None, env=None):
    """Where `serve --tap TAP` puts its socket: /run/barenet as root (like other daemons'
    sockets), else $XDG_RUNTIME_DIR/barenet (the per-user runtime directory, XDG Base
    Directory spec), else /tmp/barenet-UID."""
    euid = os.geteuid() if euid is None else euid
    env = os.environ if env is None else env
    if euid == 0:
        base = "/run/barenet"
    elif env.get("XDG_RUNTIME_DIR"):
        base = os.path.join(env["XDG_RUNTIME_DIR"], "barenet")
    else:
        base = "/tmp/barenet-%d" % euid
    return os.path.join(base, tap + ".sock")


def device_name(spec, pid=None):
    """The name default_path() takes for a serve on spec (devices/spec.py): a TAP's or TUN's
    interface name (one per namespace, and what `ctl --tap/--tun` gives), else the kind and
    target as one path component ('serial-dev-ttyACM0', 'udp-127.0.0.1-5555'). A pty is new
    on every run: its serve's pid names it."""
    if spec.kind in ("tap", "tun"):
        return spec.target
    if spec.kind == "pty":
        return "pty-%d" % (os.getpid() if pid is None else pid)
    target = spec.target.strip("/")
    if spec.kind == "udp":
        # udp:5555 and udp:127.0.0.1:5555 are the same socket
        from barenet_host.devices.udp import parse_spec
        target = "%s:%d" % parse_spec(target)
    return spec.kind + "-" + "".join(c if c.isalnum() or c in "._" else "-" for c in target)


class InUse(Exception):
    """Another process answers on the control socket's path."""


class _Client:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.request = b""
        self.reply = None  # memoryview of what is left to send, once the request is complete
        self.eof = False   # the client half-closed


class ControlServer:
    """Serves `commands` ({word: fn() -> dict}) on path through runner (add_fd/remove_fd/
    add_task). close() removes the socket file."""

    def __init__(self, path, runner, commands):
        self.path = path
        self.runner = runner
        self.commands = commands
        self.clients = {}  # fd -> _Client
        self.stats = {"requests": 0, "refused_clients": 0, "accept_no_fds": 0, "bad_requests": 0,
                      "timeouts": 0, "errors": 0}
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, mode=0o700, exist_ok=True)
        _claim(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK
                                  | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)  # the socket is the owner's alone (0600)
        try:
            self.sock.bind(path)
        except OSError:
            self.sock.close()
            raise
        finally:
            os.umask(old)
        try:
            self.sock.listen(MAX_CLIENTS)
            runner.add_fd(self.sock.fileno(), self._accept)
            runner.add_task(self.poll)
        except BaseException:
            self.close()  # a socket file nobody serves would outlive us
            raise

    def _accept(self, now):
        while True:
            try:
                s, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if accept_backoff(self.runner, self.sock, e):
                    self.stats["accept_no_fds"] += 1
                    return
                continue  # ECONNABORTED, say: that client left the queue already
            if len(self.clients) >= MAX_CLIENTS:
                self.stats["refused_clients"] += 1
                s.close()
                continue
            s.setblocking(False)
            c = _Client(s, ticks.add(now, CLIENT_TIMEOUT_MS))
            self.clients[s.fileno()] = c
            self.runner.add_fd(s.fileno(), lambda now, c=c: self._readable(c, now))

    def _readable(self, c, now):
        if c.reply is not None:
            # Answered, or answering: read and discard until the client closes. Closing with
            # its bytes unread would reset the connection and destroy the answer in flight
            # (the status page drains the same way, RFC 9112 9.6).
            try:
                d = c.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(c)
                return
            if not d:
                if len(c.reply):
                    c.eof = True
                    self.runner.remove_fd(c.sock.fileno())  # the task sends the rest
                else:
                    self._drop(c)
            return
        try:
            data = c.sock.recv(MAX_REQUEST + 1 - len(c.request))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(c)
            return
        c.request += data
        end = c.request.find(b"\n")
        if end >= 0:
            reply = self.answer(c.request[:end].strip())
        elif len(c.request) > MAX_REQUEST:
            self.stats["bad_requests"] += 1
            reply = {"error": "request too long (at most %d bytes)" % MAX_REQUEST}
        elif data:
            return  # more to come
        elif c.request:
            reply = self.answer(c.request.strip())  # a last line without its newline
        else:
            self._drop(c)  # closed without asking anything
            return
        c.reply = memoryview(json.dumps(reply).encode() + b"\n")
        self._send(c)

    def answer(self, word):
        """The reply (a dict) to one request line."""
        self.stats["requests"] += 1
        try:
            text = word.decode("ascii")
        except UnicodeDecodeError:
            text = None
        fn = self.commands.get(text) if text is not None else None
        if fn is None:
            self.stats["bad_requests"] += 1
            return {"error": "unknown command %r (known: %s)" % (
                text if text is not None else word, ", ".join(sorted(self.commands)))}
        try:
            return fn()
        except Exception as e:  # our bug: the client hears of it, the stack keeps serving
            self.stats["errors"] += 1
            return {"error": "internal error: %s: %s" % (type(e).__name__, e)}

    def _send(self, c):
        try:
            n = c.sock.send(c.reply)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(c)
            return
        c.reply = c.reply[n:]
        if not len(c.reply):
            if c.eof:
                self._drop(c)
            else:
                try:
                    c.sock.shutdown(socket.SHUT_WR)  # the client reads to the end, then closes
                except OSError:
                    self._drop(c)

    def poll(self, now):
        """A runner task: sends what a client's socket could not take at once, drops clients
        past their deadline; ms until it wants to run again."""
        wait = None
        for c in list(self.clients.values()):
            if ticks.due(c.deadline, now):
                self.stats["timeouts"] += 1
                self._drop(c)
            elif c.reply is not None and len(c.reply):
                self._send(c)
                if c.sock.fileno() in self.clients:
                    wait = ticks.earliest(wait, _SEND_RETRY_MS)
            else:
                wait = ticks.earliest(wait, ticks.until(c.deadline, now))
        return wait

    def _drop(self, c):
        fd = c.sock.fileno()
        self.runner.remove_fd(fd)
        self.clients.pop(fd, None)
        c.sock.close()

    def close(self):
        for c in list(self.clients.values()):
            self._drop(c)
        self.runner.remove_fd(self.sock.fileno())
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _claim(path):
    """Make path free for a new socket: a socket nobody answers on (left by a serve that was
    killed) is removed; one that answers belongs to a running serve (InUse)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise InUse("%s exists and is not a socket" % path)  # never remove someone's file
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.settimeout(1)
    try:
        s.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)
        return
    finally:
        s.close()
    raise InUse("%s is in use by another barenet serve" % path)


class NotRunning(Exception):
    """No serve answers on the path."""


def request(path, command, timeout_s=5.0):
    """Send one command to the serve on path; -> its reply (a dict). Raises NotRunning when
    nothing listens there, OSError or ValueError on a broken exchange."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.settimeout(timeout_s)
    try:
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(path) from None
        s.sendall(command.encode("ascii") + b"\n")
        chunks = []
        while True:
            d = s.recv(65536)
            if not d:
                break
            chunks.append(d)
    finally:
        s.close()
    return json.loads(b"".join(chunks).decode())


def format_stats(reply):
    """The readable form of a `stats` reply: counters per layer, then limits with their use."""
    out = []
    for command in ("serve", "bridge"):    # who answers: its own facts first
        who = reply.get(command) or {}
        if who:
            out.append("barenet %s: " % command +
                       ", ".join("%s %s" % (k, who[k]) for k in sorted(who)))
    out.append("counters")
    stats = reply.get("stats") or {}
    rows = [(layer, k, v) for layer in sorted(stats) for k, v in sorted(stats[layer].items())]
    w = max([len(layer) + 1 + len(k) for layer, k, _ in rows] + [8])
    for layer, k, v in rows:
        out.append("  %-*s %12d" % (w, layer + "." + k, v))
    limits = reply.get("limits") or {}
    w = max([len(n) for n in limits] + [8])
    out.append("limits%s %12s %12s" % (" " * (w - 4), "used", "limit"))
    for name in sorted(limits):
        v = limits[name]
        pct = " %3d%%" % (100 * v["used"] // v["limit"]) if v["limit"] else ""
        out.append("  %-*s %12d %12d%s" % (w, name, v["used"], v["limit"], pct))
    return "\n".join(out) + "\n"

