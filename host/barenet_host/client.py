"""`barenet client`: the desktop side of a barenet device (issue 10 item 9).

    barenet client discover                 who answers the discovery protocol (apps/discovery.py)
    barenet client ping HOST                ICMP echo
    barenet client get HOST[:PORT][/PATH]   an HTTP GET; the body on stdout
    barenet client echo HOST                stdin to the TCP echo service (7), the answers out
    barenet client send FILE HOST           FILE through TCP echo; its sha256 checked on return
    barenet client bench HOST               MB/s both ways: to discard (9), from chargen (19)
    barenet client stats HOST               the device's counters, from its status page (80)

By default the client uses the host's own (kernel) sockets. `--via DEVICE-SPEC` instead runs a
barenet stack in this process on that link (devices/spec.py: serial:/dev/ttyACM0, pty, unix,
udp, tap), with the address `--ip` (VIA_CIDR, toward a board at 192.0.2.2): a board on a USB
serial line is reached with no root and no bridge. The stack runs in its own thread
(threaded.py), so every command is the same code over either set of sockets.

Pings use an unprivileged ICMP datagram socket where net.ipv4.ping_group_range lets the user
open one, a raw socket as root, barenet's raw socket over --via.
"""

import argparse
import hashlib
import http.client
import json
import os
import secrets
import socket as kernel
import struct
import sys
import threading
import time

from barenet import addr, mdns
from barenet.apps import discovery
from barenet.wire import Malformed, dns as dnsw
from barenet.wire.checksum import checksum

from barenet_host import cliargs
from barenet_host import ctl as control

VIA_CIDR = "192.0.2.1/24"
ECHO_PORT = 7
DISCARD_PORT = 9
CHARGEN_PORT = 19
HTTP_PORT = 80
BENCH_BYTES = 4 << 20
CHUNK = 65536
# A --via stack's connections get this long after the command to finish (FIN exchanged, data
# acknowledged), as a process's exit leaves its kernel sockets to finish.
LINGER_S = 3.0
_ICMP_ECHO_REPLY = 0
_ICMP_ECHO_REQUEST = 8
# Linux netdevice(7): an interface's address and netmask (its SIOCGIFBRDADDR is 0.0.0.0
# unless the address was added with `brd +`)
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_SIOCGIFDSTADDR = 0x8917
_PING_SYSCTL = "net.ipv4.ping_group_range"


class Net:
    """The sockets a command talks through: the kernel's, or a barenet stack's on a link."""

    def __init__(self, sockets, stack=None, drv=None, nic=None):
        self.sockets = sockets
        self.stack = stack
        self._drv = drv
        self._nic = nic

    @classmethod
    def kernel(cls):
        return cls(kernel)

    @classmethod
    def via(cls, nic, cidr=VIA_CIDR, gateway=None, mac=None):
        """A barenet stack on nic (any NIC with fileno) in its own thread."""
        from barenet.socket import Sockets
        from barenet.stack import Stack
        from barenet_host.runner import Runner, now_ms
        from barenet_host.threaded import StackThread

        stack = Stack("host")
        link = getattr(nic, "link", "ethernet")
        if link == "ethernet" and mac is None:
            mac = cliargs.default_mac(addr.ip_aton(cidr.split("/")[0]))
        stack.add_interface(nic, mac=mac if link == "ethernet" else None, ip=cidr,
                            gateway=gateway, mtu=getattr(nic, "mtu", None), now_ms=now_ms())
        drv = StackThread(Runner(stack)).start()
        return cls(Sockets(stack, drv), stack, drv, nic)

    @property
    def barenet(self):
        return self.stack is not None

    def wait_link(self, timeout):
        """True once the link is up (a unix: listener's board has connected, a serial port
        has come back), False after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            with self._drv.lock:
                if self.stack.interfaces[0].running:
                    return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.02)

    def interface_addrs(self):
        """[(address, netmask, peer)] of the kernel's IPv4 interfaces but loopback ones
        (SIOCGIFADDR, SIOCGIFNETMASK; SIOCGIFDSTADDR gives a point-to-point link's peer,
        else the address itself)."""
        import fcntl
        out = []
        s = kernel.socket(kernel.AF_INET, kernel.SOCK_DGRAM)
        try:
            for _, name in kernel.if_nameindex():
                req = struct.pack("256s", name.encode()[:15])
                try:
                    ip = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)[20:24]
                    mask = fcntl.ioctl(s.fileno(), _SIOCGIFNETMASK, req)[20:24]
                    peer = fcntl.ioctl(s.fileno(), _SIOCGIFDSTADDR, req)[20:24]
                except OSError:
                    continue       # no IPv4 address there
                if ip[0] != 127:
                    out.append((ip, mask, peer))
        finally:
            s.close()
        return out

    def broadcast_targets(self):
        """Where `discover` sends: the limited broadcast, and on the kernel each interface's
        own subnet's broadcast address too (with no default route Linux refuses
        255.255.255.255, ENETUNREACH), or a point-to-point link's one host beyond it (a TUN
        to a bridged board has no broadcast address)."""
        out = ["255.255.255.255"]
        if self.barenet:
            return out
        for ip, mask, peer in self.interface_addrs():
            if mask == b"\xff\xff\xff\xff":
                b = addr.ip_ntoa(peer) if peer != ip else None
            else:
                b = addr.ip_ntoa(bytes(a | (~m & 0xFF) for a, m in zip(ip, mask)))
            if b is None:
                continue
            if b not in out:
                out.append(b)
        return out

    def send_mdns(self, sock, query):
        """The mDNS query to its group on every interface (a kernel socket's group traffic
        leaves by IP_MULTICAST_IF); -> how many sends went out."""
        group = (mdns.GROUP, mdns.PORT)
        if self.barenet:
            sock.sendto(query, group)
            return 1
        sent = 0
        for ip, _, _ in self.interface_addrs():
            try:
                sock.setsockopt(kernel.IPPROTO_IP, kernel.IP_MULTICAST_IF, ip)
                sock.sendto(query, group)
                sent += 1
            except OSError:
                continue
        return sent

    def ping_socket(self):
        """-> (socket, whether what it receives starts with an IP header)."""
        s = self.sockets
        if self.barenet:
            return s.socket(s.AF_INET, s.SOCK_RAW, s.IPPROTO_ICMP), True
        try:
            return kernel.socket(kernel.AF_INET, kernel.SOCK_DGRAM, kernel.IPPROTO_ICMP), False
        except PermissionError:
            pass
        try:
            return kernel.socket(kernel.AF_INET, kernel.SOCK_RAW, kernel.IPPROTO_ICMP), True
        except PermissionError:
            raise cliargs.RuntimeFailure(
                "ping needs an ICMP socket: this user's group (gid %d) is outside %s (%s; "
                "sysctl -w %s='0 2147483647' allows everyone), and raw sockets need root"
                % (os.getgid(), _PING_SYSCTL, _read_sysctl(_PING_SYSCTL), _PING_SYSCTL))

    def close(self):
        if self._drv is None:
            return
        stack = self.stack
        end = time.monotonic() + LINGER_S
        while time.monotonic() < end:
            with self._drv.lock:
                if not stack.tcp.connections():
                    break
            time.sleep(0.02)
        self._drv.stop()
        self._drv.world.close()
        close = getattr(self._nic, "close", None)
        if close is not None:
            close()
        self._drv = None


def _read_sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return "now " + " ".join(f.read().split())
    except OSError:
        return "unreadable"


def _target(text, default_port):
    """'HOST[:PORT][/PATH]' -> (host, port, path); UsageError if malformed."""
    hostport, slash, path = text.partition("/")
    host, colon, port = hostport.partition(":")
    try:
        addr.ip_aton(host)
    except ValueError:
        raise cliargs.UsageError("invalid host %r (want an IPv4 address, a.b.c.d[:port])" % text)
    if colon:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise cliargs.UsageError("invalid port in %r (want 1..65535)" % text)
        default_port = int(port)
    return host, default_port, "/" + path if slash else "/"


def _host(text):
    try:
        addr.ip_aton(text)
    except ValueError:
        raise argparse.ArgumentTypeError("invalid host %r (want an IPv4 address)" % text)
    return text


def _connect(net, host, port, timeout):
    try:
        return net.sockets.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise cliargs.RuntimeFailure("cannot connect to %s:%d: %s" % (host, port, _why(e)))


def _why(e):
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e.errno, int):
        return os.strerror(e.errno)   # barenet's OSError has the errno, not the C library's text
    return e.strerror or str(e) or type(e).__name__


# -- discover ------------------------------------------------------------------------------

def discover(net, args, out):
    s = net.sockets
    sock = s.socket(s.AF_INET, s.SOCK_DGRAM)
    try:
        sock.setsockopt(s.SOL_SOCKET, s.SO_BROADCAST, 1)
        sock.bind(("0.0.0.0", 0))
        token = secrets.token_hex(8)
        request = discovery.REQUEST + b" " + token.encode()
        targets = [args.to] if args.to else net.broadcast_targets()
        sent = 0
        for t in targets:
            try:
                sock.sendto(request, (t, args.port))
                sent += 1
            except OSError:
                continue       # not every target is reachable from every host
        if not args.to:
            # DNS-SD over mDNS too (RFC 6763 4): a legacy unicast query from this port (RFC
            # 6762 6.7) for the status pages' service, answered straight back to it
            sent += net.send_mdns(sock, dnsw.build(_MDNS_ID, 0, [(_MDNS_SERVICE, dnsw.TYPE_PTR,
                                                                  dnsw.CLASS_IN)]))
        if not sent:
            raise cliargs.RuntimeFailure("cannot send a discovery request to %s"
                                         % ", ".join(targets))
        found = {}
        named = {}
        end = time.monotonic() + args.wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, src = sock.recvfrom(2048)
            except OSError:
                break          # the wait is over
            if src[1] == mdns.PORT:
                for name, dev in _mdns_reply(data, src[0]):
                    named[dev["ip"]] = (name, dev)
                continue
            dev = _discovery_reply(data, token)
            if dev is not None:
                dev["from"] = src[0]
                found[(dev["ip"], dev["mac"])] = dev
    finally:
        sock.close()
    # a device that answered both ways is one row, its mDNS name added
    by_ip = dict((d["ip"].split("/")[0], d) for d in found.values())
    for ip, (name, dev) in named.items():
        if ip in by_ip:
            by_ip[ip]["mdns"] = name
        else:
            dev["mdns"] = name
            found[(ip, None)] = dev
    if not found:
        raise cliargs.RuntimeFailure("no device answered within %g s" % args.wait)
    devices = sorted(found.values(), key=lambda d: addr.ip_aton(d["ip"].split("/")[0]))
    if args.json:
        out.write(json.dumps(devices, indent=1, sort_keys=True) + "\n")
    else:
        from barenet_host import term
        term.print_table(out, "devices", ["name", "mac", "ip", "board", "firmware", "uptime",
                                          "mdns"],
                         [[d["name"], d["mac"] or "-", d["ip"], d["board"], d["firmware"],
                           _duration(d["uptime_s"]), d.get("mdns", "-")] for d in devices])
    return 0


_MDNS_SERVICE = "_http._tcp.local"
_MDNS_ID = 0xB0A4


def _mdns_reply(data, src):
    """[(NAME.local, device)] for each service instance the DNS-SD answer names, with its
    address from the A record and board/firmware from TXT (the fields mDNS cannot tell are
    None)."""
    try:
        m = dnsw.parse(data)
    except (Malformed, ValueError):
        return []
    if not m.response or m.id != _MDNS_ID:
        return []
    recs = m.answers + m.additional
    out = []
    for name, rtype, _, _, rdata in recs:
        if rtype != dnsw.TYPE_PTR or name != _MDNS_SERVICE or not isinstance(rdata, str):
            continue
        srv = [r[4] for r in recs if r[0] == rdata and r[1] == dnsw.TYPE_SRV]
        if not srv:
            continue
        host = srv[0][3]
        ips = [r[4] for r in recs if r[0] == host and r[1] == dnsw.TYPE_A and len(r[4]) == 4]
        txt = {}
        for r in recs:
            if r[0] == rdata and r[1] == dnsw.TYPE_TXT:
                txt = _txt(r[4])
        out.append((host, {"name": rdata.split(".")[0], "mac": None,
                           "ip": addr.ip_ntoa(ips[0]) if ips else src,
                           "board": txt.get("board", "?"), "firmware": txt.get("firmware", "?"),
                           "uptime_s": None, "from": src}))
    return out


def _txt(rdata):
    """RFC 6763 6: length-prefixed key=value strings -> dict."""
    out = {}
    i = 0
    while i < len(rdata):
        n = rdata[i]
        item = bytes(rdata[i + 1:i + 1 + n]).decode("utf-8", "replace")
        k, _, v = item.partition("=")
        if k:
            out[k.lower()] = v
        i += 1 + n
    return out


def _discovery_reply(data, token):
    """The reply's fields (dict) when data answers our request, else None."""
    if not data.startswith(discovery.REPLY):
        return None
    try:
        d = json.loads(data[len(discovery.REPLY):].decode())
    except (UnicodeDecodeError, ValueError):
        return None
    keys = ("name", "mac", "ip", "board", "firmware", "uptime_s")
    if not isinstance(d, dict) or d.get("token") != token or any(k not in d for k in keys):
        return None
    return dict((k, d[k]) for k in keys)


def _duration(s):
    if not isinstance(s, int):
        return "?"
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return ("%dd " % d if d else "") + "%02d:%02d:%02d" % (h, m, s)


# -- ping ----------------------------------------------------------------------------------

def ping(net, args, out):
    sock, ip_header = net.ping_socket()
    ident = os.getpid() & 0xFFFF
    payload = bytes(range(256)) * (args.size // 256 + 1)
    payload = payload[:args.size]
    received = 0
    rtts = []
    try:
        out.write("PING %s: %d data bytes\n" % (args.host, args.size))
        out.flush()
        for seq in range(1, args.count + 1):
            started = time.monotonic()
            msg = bytearray(struct.pack("!BBHHH", _ICMP_ECHO_REQUEST, 0, 0, ident, seq) + payload)
            struct.pack_into("!H", msg, 2, checksum(msg))
            try:
                sock.sendto(bytes(msg), (args.host, 0))
            except OSError as e:
                raise cliargs.RuntimeFailure("ping %s: %s" % (args.host, _why(e)))
            rtt = _await_reply(sock, ip_header, args.host, seq, started, args.timeout)
            if rtt is not None:
                received += 1
                rtts.append(rtt)
                out.write("%d bytes from %s: icmp_seq=%d time=%.3f ms\n"
                          % (args.size + 8, args.host, seq, rtt))
            else:
                out.write("no reply from %s: icmp_seq=%d\n" % (args.host, seq))
            out.flush()
            if seq < args.count:
                time.sleep(max(0.0, started + args.interval - time.monotonic()))
    finally:
        sock.close()
    loss = 100 * (args.count - received) // args.count
    out.write("%d packets transmitted, %d received, %d%% packet loss\n"
              % (args.count, received, loss))
    if rtts:
        out.write("rtt min/avg/max = %.3f/%.3f/%.3f ms\n"
                  % (min(rtts), sum(rtts) / len(rtts), max(rtts)))
    if not received:
        raise cliargs.RuntimeFailure("no reply from %s" % args.host)
    return 0


def _await_reply(sock, ip_header, host, seq, started, timeout):
    """ms from started until the echo reply of seq from host came, or None after timeout s.
    The kernel's ICMP datagram socket picks the identifier itself and delivers only its own
    replies; a raw socket sees every reply, and the sequence number tells ours."""
    deadline = started + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(65535)
        except OSError:
            return None
        if ip_header:
            data = data[(data[0] & 0x0F) * 4:]
        if src[0] != host or len(data) < 8:
            continue
        typ, _, _, _, rseq = struct.unpack_from("!BBHHH", data)
        if typ == _ICMP_ECHO_REPLY and rseq == seq:
            return (time.monotonic() - started) * 1000


# -- get and stats -------------------------------------------------------------------------

def _http_get(net, host, port, path, timeout):
    """-> (status, reason, body bytes)."""
    sock = _connect(net, host, port, timeout)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = sock   # http.client over whichever sockets: it only reads and writes
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.reason, r.read()
    except (OSError, http.client.HTTPException) as e:
        raise cliargs.RuntimeFailure("GET http://%s:%d%s: %s" % (
            host, port, path, _why(e) if isinstance(e, OSError) else type(e).__name__))
    finally:
        conn.close()


def get(net, args, out):
    host, port, path = _target(args.url, HTTP_PORT)
    status, reason, body = _http_get(net, host, port, path, args.timeout)
    out.buffer.write(body) if hasattr(out, "buffer") else out.write(body.decode("utf-8", "replace"))
    out.flush()
    if status >= 400:
        raise cliargs.RuntimeFailure("GET http://%s:%d%s: %d %s" % (host, port, path, status,
                                                                    reason))
    return 0


def stats(net, args, out):
    host, port, _ = _target(args.host, HTTP_PORT)
    status, reason, body = _http_get(net, host, port, "/?format=json", args.timeout)
    if status != 200:
        raise cliargs.RuntimeFailure("%s:%d has no status page: %d %s" % (host, port, status,
                                                                          reason))
    try:
        reply = json.loads(body.decode())
        reply["stats"], reply["limits"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise cliargs.RuntimeFailure("%s:%d: the status page's JSON has no stats and limits"
                                     % (host, port))
    if args.json:
        out.write(json.dumps(reply, indent=1, sort_keys=True) + "\n")
    else:
        # the status page's JSON has the shape of `ctl stats`: one printer for both
        out.write(control.format_stats(reply))
    out.flush()
    return 0


# -- echo and send: write one way, read the other in a thread ------------------------------

def _pump(sock, chunks, on_data, timeout):
    """Send every chunk, then half-close; meanwhile a thread reads until the peer's close,
    calling on_data(bytes). -> bytes read. The peer's echo pushes back through TCP's windows;
    the reader keeps them open."""
    done = {"n": 0, "error": None}

    def reader():
        try:
            while True:
                d = sock.recv(CHUNK)
                if not d:
                    return
                done["n"] += len(d)
                on_data(d)
        except OSError as e:
            done["error"] = e

    t = threading.Thread(target=reader, name="barenet-client-reader", daemon=True)
    t.start()
    try:
        for c in chunks:
            sock.sendall(c)
        sock.shutdown(kernel.SHUT_WR)
    except OSError as e:
        done["error"] = done["error"] or e
    t.join(timeout)
    if t.is_alive():
        raise cliargs.RuntimeFailure("the echo did not end within %g s of the last byte sent"
                                     % timeout)
    if done["error"] is not None:
        raise cliargs.RuntimeFailure("echo: %s" % _why(done["error"]))
    return done["n"]


def _stdin_chunks(stdin):
    while True:
        d = stdin.read1(CHUNK) if hasattr(stdin, "read1") else stdin.read(CHUNK)
        if not d:
            return
        yield d


def echo(net, args, out):
    host, port, _ = _target(args.host, ECHO_PORT)
    sock = _connect(net, host, port, args.timeout)
    sock.settimeout(None)      # interactive: the user may type nothing for a while
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    sink = getattr(out, "buffer", None)

    def show(d):
        if sink is not None:
            sink.write(d)
            sink.flush()
        else:
            out.write(d.decode("utf-8", "replace"))
            out.flush()
    try:
        _pump(sock, _stdin_chunks(stdin), show, args.timeout)
    finally:
        sock.close()
    return 0


def send(net, args, out):
    host, port, _ = _target(args.host, ECHO_PORT)
    try:
        f = open(args.file, "rb")
        size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise cliargs.UsageError("cannot read %s: %s" % (args.file, e.strerror))
    from barenet_host import term
    sent, back = hashlib.sha256(), hashlib.sha256()

    def chunks():
        while True:
            d = f.read(CHUNK)
            if not d:
                return
            sent.update(d)
            yield d
    # the socket's timeout stays: a peer that stops reading (or echoing) for that long, with
    # a chunk left to send or bytes still to come, fails the send
    sock = _connect(net, host, port, args.timeout)
    started = time.monotonic()
    try:
        with term.Transfer(sys.stderr, "send", size) as bar:
            def got(d):
                back.update(d)
                bar.advance(len(d))
            n = _pump(sock, chunks(), got, args.timeout)
    finally:
        sock.close()
        f.close()
    secs = time.monotonic() - started
    if n != size or sent.digest() != back.digest():
        raise cliargs.RuntimeFailure("%s: sent %d bytes, %d came back, sha256 %s"
                                     % (args.file, size, n, "differs" if n == size else "-"))
    out.write("sent %s: %d bytes, echoed back by %s:%d in %.2f s (%.2f MB/s), sha256 %s matches\n"
              % (args.file, size, host, port, secs, _mbs(2 * size, secs), sent.hexdigest()))
    return 0


def _mbs(n, secs):
    return n / 1e6 / secs if secs > 0 else 0.0


# -- bench ---------------------------------------------------------------------------------

def bench(net, args, out):
    from barenet_host import term
    host = args.host
    total = args.bytes
    block = bytes(CHUNK)
    figures = {}

    sock = _connect(net, host, args.discard_port, args.timeout)
    started = time.monotonic()
    try:
        with term.Transfer(sys.stderr, "to %s discard" % host, total) as bar:
            left = total
            while left:
                n = min(left, CHUNK)
                sock.sendall(block[:n])
                bar.advance(n)
                left -= n
        # the discard service closes when it has read our FIN: all of it arrived
        sock.shutdown(kernel.SHUT_WR)
        while sock.recv(CHUNK):
            pass
    except OSError as e:
        raise cliargs.RuntimeFailure("bench to %s:%d: %s" % (host, args.discard_port, _why(e)))
    finally:
        sock.close()
    figures["upload"] = _figure(total, time.monotonic() - started)

    sock = _connect(net, host, args.chargen_port, args.timeout)
    started = time.monotonic()
    got = 0
    try:
        with term.Transfer(sys.stderr, "from %s chargen" % host, total) as bar:
            while got < total:
                d = sock.recv(min(CHUNK, total - got))
                if not d:
                    raise cliargs.RuntimeFailure("chargen on %s closed after %d bytes"
                                                 % (host, got))
                got += len(d)
                bar.advance(len(d))
    except OSError as e:
        raise cliargs.RuntimeFailure("bench from %s:%d: %s" % (host, args.chargen_port,
                                                                _why(e)))
    finally:
        sock.close()
    figures["download"] = _figure(total, time.monotonic() - started)
    if args.json:
        out.write(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    else:
        for way, label in (("upload", "to %s (discard)" % host),
                           ("download", "from %s (chargen)" % host)):
            f = figures[way]
            out.write("%-28s %10d bytes in %6.2f s: %8.2f MB/s\n"
                      % (label, f["bytes"], f["seconds"], f["mb_s"]))
    return 0


def _figure(n, secs):
    return {"bytes": n, "seconds": round(secs, 3), "mb_s": round(_mbs(n, secs), 3)}


# -- the command line ----------------------------------------------------------------------

def add_parser(sub):
    """Add `client` and its subcommands to the `barenet` parser's subparsers."""
    common = cliargs.Parser(add_help=False)
    _link_options(common, argparse.SUPPRESS)
    c = sub.add_parser("client", help="talk to a barenet device: discover, ping, get, echo, "
                       "send, bench, stats",
                       description="Talk to barenet devices from this host: over its own "
                       "sockets, or with --via over a link (serial, pty, unix, udp, tap) that "
                       "a barenet stack in this process runs, with no root and no bridge.")
    _link_options(c, None)
    cs = c.add_subparsers(dest="client_command", metavar="SUBCOMMAND",
                          parser_class=cliargs.Parser)
    d = cs.add_parser("discover", parents=[common], help="find devices on the local network",
                      description="Broadcast a discovery request (UDP port %d) and list the "
                      "devices that answer." % discovery.PORT)
    d.add_argument("--to", type=_host, metavar="ADDR",
                   help="send the request only to ADDR (a broadcast or a device's address)")
    d.add_argument("--port", type=cliargs.ranged("port", 1, 65535), default=discovery.PORT,
                   help="the discovery port (default %d)" % discovery.PORT)
    d.add_argument("--wait", type=cliargs.ranged("--wait", 0.1, 60, float), default=1.0,
                   metavar="S", help="how long to collect answers (default 1 s)")
    d.add_argument("--json", action="store_true", help="print the devices as JSON")
    d.set_defaults(run=discover)
    p = cs.add_parser("ping", parents=[common], help="send ICMP echo requests",
                      description="Ping HOST; exit status 1 if no reply came.")
    p.add_argument("host", type=_host, metavar="HOST")
    p.add_argument("-c", "--count", type=cliargs.ranged("count", 1, 100000), default=4)
    p.add_argument("-i", "--interval", type=cliargs.ranged("interval", 0.01, 60, float),
                   default=1.0, metavar="S", help="seconds between requests (default 1)")
    p.add_argument("-s", "--size", type=cliargs.ranged("size", 0, 65507), default=56,
                   help="data bytes per request (default 56)")
    p.set_defaults(run=ping)
    g = cs.add_parser("get", parents=[common], help="HTTP GET a page; the body goes to stdout",
                      description="GET http://HOST[:PORT]/PATH and print the body.")
    g.add_argument("url", metavar="HOST[:PORT][/PATH]")
    g.set_defaults(run=get)
    e = cs.add_parser("echo", parents=[common], help="stdin to the TCP echo service, the "
                      "answer to stdout (interactive or piped)",
                      description="Send standard input to HOST's TCP echo service (port 7) "
                      "and print what comes back; ends at end of input.")
    e.add_argument("host", metavar="HOST[:PORT]")
    e.set_defaults(run=echo)
    s = cs.add_parser("send", parents=[common], help="send a file through the echo service "
                      "and check it comes back whole (sha256)",
                      description="Send FILE to HOST's TCP echo service; the bytes that come "
                      "back must be FILE's (byte count and sha256).")
    s.add_argument("file", metavar="FILE")
    s.add_argument("host", metavar="HOST[:PORT]")
    s.set_defaults(run=send)
    b = cs.add_parser("bench", parents=[common], help="TCP throughput both ways, in MB/s",
                      description="Send BYTES to HOST's discard service (9) and read BYTES "
                      "from its chargen service (19), with a progress bar on a terminal.")
    b.add_argument("host", type=_host, metavar="HOST")
    b.add_argument("--bytes", type=cliargs.ranged("bytes", 1, 1 << 34), default=BENCH_BYTES,
                   help="bytes each way (default %d)" % BENCH_BYTES)
    # a board behind `barenet bridge --nat` is reached at the host ports forwarded to it
    b.add_argument("--discard-port", type=cliargs.ranged("port", 1, 65535),
                   default=DISCARD_PORT, metavar="PORT",
                   help="the discard service's port (default %d)" % DISCARD_PORT)
    b.add_argument("--chargen-port", type=cliargs.ranged("port", 1, 65535),
                   default=CHARGEN_PORT, metavar="PORT",
                   help="the chargen service's port (default %d)" % CHARGEN_PORT)
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    b.set_defaults(run=bench)
    st = cs.add_parser("stats", parents=[common], help="the device's counters from its "
                       "status page", description="Read HOST's status page (port 80, "
                       "/?format=json) and print its counters and limits.")
    st.add_argument("host", metavar="HOST[:PORT]")
    st.add_argument("--json", action="store_true", help="print the status page's JSON")
    st.set_defaults(run=stats)
    c.set_defaults(func=main)
    return c


def _link_options(p, default):
    # on `client` and on each subcommand (default SUPPRESS there, so that `client --via X
    # ping` and `client ping --via X` both work and neither overwrites the other)
    p.add_argument("--via", type=cliargs.device, metavar="DEVICE-SPEC", default=default,
                   help="run barenet over this link instead of the host's sockets, e.g. "
                   "serial:/dev/ttyACM0, pty, unix:PATH, udp:PORT")
    p.add_argument("--ip", type=cliargs.cidr, metavar="ADDR/PREFIX", default=default,
                   help="with --via: this end's address (default %s)" % VIA_CIDR)
    p.add_argument("--gateway", type=cliargs.ip, metavar="ADDR", default=default,
                   help="with --via: the default gateway (on-link)")
    p.add_argument("--timeout", type=cliargs.ranged("--timeout", 0.1, 3600, float), metavar="S",
                   default=default if default is not None else 5.0,
                   help="seconds to wait for a connection or a reply (default 5)")


def main(args, out):
    if args.client_command is None:
        raise cliargs.UsageError("client needs a subcommand (try `%s client --help`)"
                                 % cliargs.PROG)
    if args.via is None and (args.ip is not None or args.gateway is not None):
        raise cliargs.UsageError("--ip and --gateway go with --via")
    net = _open_net(args)
    try:
        return args.run(net, args, out)
    finally:
        net.close()


def _open_net(args):
    if args.via is None:
        return Net.kernel()
    from barenet_host.devices import spec as devspec
    ip, prefix = args.ip or cliargs.cidr(VIA_CIDR)
    cidr = "%s/%d" % (addr.ip_ntoa(ip), prefix)
    gateway = None if args.gateway is None else addr.ip_ntoa(args.gateway)
    try:
        nic = devspec.open_device(args.via)
    except (OSError, ValueError) as e:
        raise cliargs.RuntimeFailure("cannot open %s: %s" % (
            args.via.text, e.strerror if isinstance(e, OSError) and e.strerror else e))
    if args.via.kind == "pty":
        print("barenet: %s is %s (the board opens it)" % (args.via.text, nic.path),
              file=sys.stderr, flush=True)
    try:
        net = Net.via(nic, cidr, gateway)
    except (OSError, ValueError) as e:
        nic.close()
        raise cliargs.UsageError("--via %s: %s" % (args.via.text, e))
    if not net.wait_link(args.timeout):
        net.close()
        raise cliargs.RuntimeFailure("%s: the link is down (no board connected) after %g s"
                                     % (args.via.text, args.timeout))
    return net
