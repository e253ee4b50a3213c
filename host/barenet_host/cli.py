"""The `barenet` command.

`barenet serve --tap NAME --ip 192.0.2.2/24` (or --tun NAME, --dev SPEC) runs a barenet stack
on a device until SIGINT or SIGTERM, with the link options of linkopts.py; `barenet ctl
stats|conns|arp|routes|nat|ifaces --tap NAME` asks it for a table over its control socket
(barenet_host/ctl.py, ctltables.py); `barenet run [--tap NAME --ip A/N] SCRIPT [ARGS...]` (or
--tun, --dev) runs a program's `import socket` over barenet (barenet_host/run.py); `barenet
client` talks to barenet devices (barenet_host/client.py). Every user error is one line on
stderr (`barenet: error: ...`) and exit status 2; a failure of the environment (the device
went away, no serve answers) is one line and exit status 1.
"""

import argparse
import importlib
import json
import os
import signal
import sys

import barenet
from barenet import addr
from barenet.apps.chargen import Chargen
from barenet.apps.discard import Discard
from barenet.apps.discovery import Discovery, PORT as DISCOVERY_PORT
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet.apps.udp_echo import UDPEcho
from barenet.config import Config
from barenet.stack import Stack

from barenet_host import cliargs, conntrace
from barenet_host import ctl as control
from barenet_host import ctltables
from barenet_host import linkopts
from barenet_host.runner import Runner, now_ms
from barenet_host.devices import spec as devspec
from barenet_host.devices.spec import open_device

from barenet_host.cliargs import PROG, EXIT_USAGE, EXIT_FAILURE, MTU_MIN, MTU_MAX
# TCP send and receive buffer per connection, and connections held: the host profile's
# (barenet/config.py).
TCP_BUFFER = Config("host").sndbuf
MAX_CONNS = Config("host").max_connections
MAX_CONNS_MAX = 1 << 20
TCP_BUFFER_MIN = 2048
TCP_BUFFER_MAX = 16 << 20
IDLE_MS_MAX = 24 * 3600 * 1000
# Each TCP app's limits (apps/server.py): the flag names the tunable (--app-max-conns sets
# app_max_conns), its default is the host profile's. flag, metavar, range, what it does.
APP_LIMITS = (
    ("--app-max-conns", "N", 1, MAX_CONNS_MAX, "connections each TCP app serves at once; past "
     "it the idlest is closed for a newcomer, or the newcomer waits"),
    ("--app-max-per-peer", "N", 1, MAX_CONNS_MAX, "connections one remote address may hold in "
     "each TCP app; the excess is refused with a RST"),
    ("--app-idle-ms", "MS", 0, IDLE_MS_MAX, "echo, discard and chargen close a connection idle "
     "this long, nothing received or acknowledged (0: never)"),
    ("--http-idle-ms", "MS", 1, IDLE_MS_MAX, "the status page closes a keep-alive connection "
     "idle this long between requests"),
)
APP_TUNABLES = [flag[2:].replace("-", "_") for flag, _, _, _, _ in APP_LIMITS]
# TCP services `--apps` can start: name -> (class, well-known port)
APPS = {"echo": (TCPEcho, 7), "discard": (Discard, 9), "chargen": (Chargen, 19),
        "http": (StatusPage, 80)}
# UDP services: the discovery responder `barenet client discover` asks (apps/discovery.py)
UDP_APPS = {"discovery": (Discovery, DISCOVERY_PORT)}


def _apps(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in APPS and n not in UDP_APPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError("unknown app %r (choose from %s)" % (
            (unknown or [text])[0], ",".join(sorted(list(APPS) + list(UDP_APPS)))))
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("an app is named twice in %r" % (text,))
    return names


# The commands whose code lives in a module of its own. Each is imported (for its add_parser)
# only when the command line names none of cli.py's own commands, so that `serve` starts
# without client's http.client, bridge's NAT, flash's or plot's imports: issue 13 wants the
# first ping answered within 0.3 s of the start (measured by bench/run_all.py's start row).
COMMAND_MODULES = ("bridge", "client", "plot", "virtual_board", "flash")


def _command(argv):
    """The command argv names (its first word not an option; the top level takes none with a
    value), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def _parser(command=None):
    """The parser; for `command` one of cli.py's own, without the other modules' commands."""
    p = cliargs.Parser(prog=PROG, description="barenet: a TCP/IP stack in plain Python.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=cliargs.Parser)
    s = sub.add_parser("serve", help="run the stack on a device until SIGINT/SIGTERM",
                       description="Run barenet on a device: a Linux TAP (Ethernet) or TUN "
                       "(bare IP), or any device spec. An existing TAP or TUN (from `ip tuntap "
                       "add dev NAME mode tap|tun`) is attached to; otherwise one is created "
                       "and removed again on exit.")
    _device_arguments(s, required=True)
    s.add_argument("--ip", required=True, type=cliargs.cidr, metavar="ADDR/PREFIX",
                   help="barenet's own IPv4 address, e.g. 192.0.2.2/24")
    s.add_argument("--gateway", type=cliargs.ip, metavar="ADDR", help="default gateway (on-link)")
    s.add_argument("--mac", type=cliargs.mac, metavar="MAC",
                   help="Ethernet address (default 02:00 followed by the IPv4 address bytes); "
                   "Ethernet links only")
    s.add_argument("--mtu", type=cliargs.ranged("MTU", MTU_MIN, MTU_MAX),
                   help="interface MTU, %d..%d (default the device's: 1500, SLIP 1006)"
                   % (MTU_MIN, MTU_MAX))
    s.add_argument("--udp-echo", type=cliargs.ranged("port", 1, 65535), action="append", default=[],
                   metavar="PORT", help="answer UDP echo (RFC 862) on PORT; may be repeated")
    s.add_argument("--mdns", type=cliargs.mdns_name, metavar="NAME",
                   help="answer multicast DNS (RFC 6762) for NAME.local, and advertise the "
                   "status page as NAME._http._tcp.local (DNS-SD, RFC 6763) if --apps has http")
    s.add_argument("--apps", type=_apps, default=[], metavar="LIST",
                   help="services to run, comma-separated: %s (TCP echo 7, discard 9, "
                   "chargen 19, http status page 80; UDP discovery %d, which `barenet client "
                   "discover` finds)" % (",".join(sorted(list(APPS) + list(UDP_APPS))),
                                         DISCOVERY_PORT))
    s.add_argument("--tcp-buffer", type=cliargs.ranged("TCP buffer", TCP_BUFFER_MIN, TCP_BUFFER_MAX),
                   default=TCP_BUFFER, metavar="BYTES",
                   help="TCP send and receive buffer per connection, %d..%d (default %d)"
                   % (TCP_BUFFER_MIN, TCP_BUFFER_MAX, TCP_BUFFER))
    s.add_argument("--max-conns", type=cliargs.ranged("max-conns", 1, MAX_CONNS_MAX),
                   default=MAX_CONNS, metavar="N",
                   help="TCP connections held at once, in every state (default %d); a SYN "
                   "beyond them makes the oldest half-open one give way (tcp syn_evicted), "
                   "or when none is half-open is refused with a RST and counted (tcp "
                   "refused_conn_limit)"
                   % MAX_CONNS)
    for (flag, metavar, lo, hi, text), name in zip(APP_LIMITS, APP_TUNABLES):
        default = getattr(Config("host"), name)
        s.add_argument(flag, type=cliargs.ranged(flag[2:], lo, hi), default=default, metavar=metavar,
                       help="%s, %d..%d (default %d)" % (text, lo, hi, default))
    s.add_argument("--ctl", metavar="PATH",
                   help="control socket for `barenet ctl` (default %s, NAME the TAP's or "
                   "TUN's, else made from the device spec)" % control.default_path("NAME"))
    linkopts.add_arguments(s)
    s.add_argument("--offload", choices=("on", "off"),
                   help="a TAP's checksum and segmentation offloads (IFF_VNET_HDR, "
                   "TUNSETOFFLOAD): the kernel hands over IPv4 super-frames of up to 64 KB "
                   "with checksums it vouches for. Default on for --tap without --faults, "
                   "--pcap or --verbose (they take plain frames); off gives plain frames")
    s.add_argument("--trace", metavar="FILE", help="write each TCP connection's cwnd, "
                   "ssthresh, RTT and sequence numbers to FILE as they change (JSON lines, "
                   "for `barenet plot`)")
    s.set_defaults(func=serve)
    c = sub.add_parser("ctl", help="ask a running `barenet serve` or `bridge` for its tables",
                       description="Talk to a running `barenet serve` or `barenet bridge` over "
                       "its control socket and print what it answers as a table, or as JSON "
                       "(the schema of each reply: barenet_host/ctltables.py).")
    c.add_argument("what", choices=ctltables.COMMANDS, metavar="COMMAND",
                   help="stats (counters and limits), conns (TCP connections), arp (the ARP "
                   "cache), routes, nat (a bridge's NAT table), ifaces (interfaces)")
    where = c.add_mutually_exclusive_group(required=True)
    where.add_argument("--tap", type=cliargs.tap_name, metavar="NAME",
                       help="the TAP the serve runs on (its socket at the default path, run "
                       "as the same user)")
    where.add_argument("--tun", type=cliargs.tun_name, metavar="NAME",
                       help="the TUN the serve runs on (likewise)")
    where.add_argument("--dev", type=cliargs.device, metavar="SPEC",
                       help="the device spec the serve runs on (likewise; not for pty)")
    where.add_argument("--socket", "--ctl", dest="ctl", metavar="PATH",
                       help="its control socket (serve --ctl)")
    c.add_argument("--json", action="store_true", help="print the reply as JSON")
    c.set_defaults(func=ctl)
    r = sub.add_parser("run", help="run a Python program with barenet as its socket module",
                       description="Run SCRIPT as __main__ with `import socket` giving "
                       "barenet's sockets, on a device (--tap, --tun or --dev, with --ip) or on "
                       "barenet's loopback only. The exit status is the script's.")
    _device_arguments(r, required=False)
    r.add_argument("--ip", type=cliargs.cidr, metavar="ADDR/PREFIX",
                   help="barenet's own IPv4 address on the device, e.g. 192.0.2.2/24")
    r.add_argument("--gw", "--gateway", dest="gateway", type=cliargs.ip, metavar="ADDR",
                   help="default gateway (on-link)")
    r.add_argument("--mac", type=cliargs.mac, metavar="MAC",
                   help="Ethernet address (default 02:00 followed by the IPv4 address bytes)")
    r.add_argument("--mtu", type=cliargs.ranged("MTU", MTU_MIN, MTU_MAX),
                   help="interface MTU, %d..%d (default the device's)" % (MTU_MIN, MTU_MAX))
    linkopts.add_arguments(r)
    # optional for argparse only: a REMAINDER after a required positional makes argparse call
    # both required when the first is missing; run() says SCRIPT is
    r.add_argument("script", nargs="?", metavar="SCRIPT", help="the Python program to run")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="its arguments (everything after SCRIPT)")
    r.set_defaults(func=run)
    if command not in sub.choices:
        for name in COMMAND_MODULES:
            importlib.import_module("barenet_host." + name).add_parser(sub)
    return p


def _device_arguments(p, required):
    """serve's and run's device: exactly one of --tap, --tun, --dev (or none, for run)."""
    dev = p.add_mutually_exclusive_group(required=required)
    dev.add_argument("--tap", type=cliargs.tap_name, metavar="NAME",
                     help="TAP interface name (Ethernet frames)")
    dev.add_argument("--tun", type=cliargs.tun_name, metavar="NAME",
                     help="TUN interface name (bare IPv4 datagrams: no MAC, no ARP)")
    dev.add_argument("--dev", type=cliargs.device, metavar="SPEC",
                     help="any device: %s" % devspec.USAGE[len("expected "):])


def _spec(args):
    """The device the command line names, as a Spec (devices/spec.py), or None."""
    if args.tap is not None:
        return devspec.Spec("tap", args.tap, text="tap:" + args.tap)
    if args.tun is not None:
        return devspec.Spec("tun", args.tun, text="tun:" + args.tun)
    return args.dev


def _check_link(args):
    """serve's and run's interface options: the gateway on the subnet, the MAC only on
    Ethernet (an ip link has none: nic.py), and its default."""
    args.spec = _spec(args)
    if args.spec.link != "ethernet":
        if args.mac is not None:
            raise cliargs.UsageError("--mac does not apply to %s: an ip link has no MAC"
                                     % args.spec.text)
    elif args.mac is None:
        args.mac = cliargs.default_mac(args.ip[0])
    ip, prefix = args.ip
    if args.gateway is not None:
        mask = addr.prefix_mask(prefix)
        if addr.and4(args.gateway, mask) != addr.and4(ip, mask) or args.gateway == ip:
            raise cliargs.UsageError("gateway %s is not another host on %s/%d"
                             % (addr.ip_ntoa(args.gateway), addr.ip_ntoa(ip), prefix))


def _check_serve(args):
    _check_link(args)
    if len(set(args.udp_echo)) != len(args.udp_echo):
        raise cliargs.UsageError("--udp-echo ports must differ")
    middleware = args.faults is not None or args.pcap is not None or args.verbose
    if args.offload == "on" and (args.spec.kind != "tap" or middleware):
        raise cliargs.UsageError("--offload on needs --tap, without --faults, --pcap or "
                                 "--verbose (they take plain frames)")
    if args.offload is None:
        args.offload = "off" if middleware or args.spec.kind != "tap" else "on"


def _open_link(args, out):
    """-> (ADDR/PREFIX text, the device, the NIC the stack gets: the device under the link
    options' middleware). A device that cannot be opened is a one-line usage error."""
    ip, prefix = args.ip
    cidr = "%s/%d" % (addr.ip_ntoa(ip), prefix)
    try:
        if getattr(args, "offload", "off") == "on":
            dev = open_device(args.spec, offload=True)
        else:
            dev = open_device(args.spec)
    except (OSError, ValueError) as e:
        raise cliargs.UsageError(getattr(e, "strerror", None) or str(e))
    try:
        # A NIC that states its MTU (nic.py) frames or reads no larger datagram: a SLIP line's
        # decoder drops longer frames (RFC 1055 has no negotiation), a TUN's read is sized by it.
        limit = getattr(dev, "mtu", None)
        if args.mtu and limit and args.mtu > limit:
            raise cliargs.UsageError("--mtu %d is more than the %s device's MTU %d: raise "
                                     "the device's with mtu=%d in its spec" % (
                                         args.mtu, args.spec.kind, limit, args.mtu))
        return cidr, dev, linkopts.wrap(dev, args, out)
    except BaseException:
        dev.close()
        raise


def _device_words(spec, dev):
    """'new TAP bn0', 'existing TUN bt0', 'pty at /dev/pts/3', or the spec for other devices."""
    if spec.kind in ("tap", "tun"):
        return "%s %s %s" % ("new" if dev.created else "existing", spec.kind.upper(), dev.name)
    if spec.kind == "pty":
        return "%s at %s" % (spec.text, dev.path)    # where the peer opens it
    return spec.text




def serve(args, out):
    _check_serve(args)
    cidr, dev, nic = _open_link(args, out)
    tracer = None
    try:
        stack = Stack("host", sndbuf=args.tcp_buffer, rcvbuf=args.tcp_buffer,
                      max_connections=args.max_conns,
                      **dict((t, getattr(args, t)) for t in APP_TUNABLES))
        if args.trace:
            tracer = conntrace.TraceWriter(stack, conntrace.create(args.trace))
        gateway = None if args.gateway is None else addr.ip_ntoa(args.gateway)
        mtu = args.mtu or getattr(nic, "mtu", 1500)   # nic.py: a NIC may state its MTU
        runner = Runner(stack)
        ctl_path = args.ctl or control.default_path(control.device_name(args.spec))
        try:
            commands = ctltables.stack_commands(stack, now_ms)
            commands["stats"] = lambda: serve_stats(stack, dev, nic, args.spec, cidr, server)
            server = control.ControlServer(ctl_path, runner, commands)
        except (control.InUse, OSError) as e:
            runner.close()
            raise cliargs.UsageError("control socket %s: %s" % (
                ctl_path, e.strerror if isinstance(e, OSError) and e.strerror else e))
        if tracer is not None:
            runner.add_task(tracer.poll)
        echoes = [UDPEcho(stack, port) for port in args.udp_echo]
        for echo in echoes:
            runner.add_task(echo.poll)
        for name in args.apps:
            cls, port = APPS.get(name) or UDP_APPS[name]
            runner.add_task(cls(stack, port).poll)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: runner.stop())
        what = "%s on %s" % (cidr, _device_words(args.spec, dev))
        if args.mac is not None:
            what += ", mac " + addr.mac_ntoa(args.mac)
        what += ", mtu %d" % mtu
        if getattr(dev, "csum_offload", False):
            what += ", offload csum+tso4"
        if gateway:
            what += ", gateway " + gateway
        if args.udp_echo:
            what += ", udp echo on " + ",".join(str(p) for p in args.udp_echo)
        tcp_apps = [n for n in args.apps if n in APPS]
        if tcp_apps:
            what += ", tcp " + " ".join("%s:%d" % (n, APPS[n][1]) for n in tcp_apps)
        udp_apps = [n for n in args.apps if n in UDP_APPS]
        if udp_apps:
            what += ", udp " + " ".join("%s:%d" % (n, UDP_APPS[n][1]) for n in udp_apps)
        if args.mdns:
            what += ", mdns %s.local" % args.mdns
        what += linkopts.describe(args) + ", control " + ctl_path
        print("barenet: serving " + what, file=out, flush=True)
        try:
            # after the banner: the interface's first frame (a gratuitous ARP) may be logged
            iface = stack.add_interface(nic, mac=args.mac, ip=cidr, gateway=gateway, mtu=mtu,
                                        now_ms=now_ms())
            if args.mdns:
                from barenet.mdns import Responder
                services = [("_http._tcp", APPS["http"][1])] if "http" in args.apps else []
                responder = Responder(stack, iface, args.mdns, services=services,
                                      txt={"board": "host", "firmware": barenet.__version__},
                                      log=lambda line: print("barenet: " + line, file=out,
                                                             flush=True))
                runner.add_task(responder.poll)
            runner.run()
        except OSError as e:
            # The device failed under us (deleted, say): not a usage error, exit status 1.
            raise cliargs.RuntimeFailure(e.strerror or str(e))
        finally:
            server.close()
            runner.close()
    finally:
        linkopts.close(nic)
        dev.close()
        if tracer is not None:
            tracer.close()
    print("barenet: stopped: " + summary(stack, dev, nic, args.spec, echoes), file=out,
          flush=True)
    return 0


def run(args, out):
    from barenet_host import run as runscript    # here: `serve` does not need it
    if args.script is None:
        raise cliargs.UsageError("run needs a SCRIPT (try `%s run --help`)" % PROG)
    device = _spec(args)
    if (device is None) != (args.ip is None):
        raise cliargs.UsageError("a device (--tap, --tun or --dev) and --ip go together")
    if device is None and (args.gateway is not None or args.mac is not None):
        raise cliargs.UsageError("--gw and --mac need a device")
    if device is None and (args.faults or args.pcap or args.verbose):
        raise cliargs.UsageError("--faults, --pcap and --verbose need a device")
    if not os.path.isfile(args.script):
        raise cliargs.UsageError("no such script: %s" % args.script)
    if device is None:
        stack, runner = runscript.make_stack()
        where = "loopback only"
        return _run(stack, runner, args, where)
    _check_link(args)
    # the script's stdout stays its own: the per-frame log goes to stderr
    cidr, dev, nic = _open_link(args, sys.stderr)
    try:
        gateway = None if args.gateway is None else addr.ip_ntoa(args.gateway)
        stack, runner = runscript.make_stack(nic, args.mac, cidr, gateway, args.mtu)
        where = "%s on %s" % (cidr, _device_words(args.spec, dev))
        if gateway:
            where += ", gateway " + gateway
        return _run(stack, runner, args, where + linkopts.describe(args))
    finally:
        linkopts.close(nic)
        dev.close()


def _run(stack, runner, args, where):
    from barenet_host import run as runscript
    # On stderr: the script's stdout stays its own.
    print("barenet: running %s (%s)" % (args.script, where), file=sys.stderr, flush=True)
    try:
        # the script's own exceptions propagate: a traceback and status 1, as `python SCRIPT`
        return runscript.run_script(stack, runner, args.script, args.args)
    finally:
        runner.close()


def summary(stack, dev, nic, spec, echoes):
    st = dev.stats
    dropped = sum(v for k, v in st.items() if k.startswith("drop"))   # nic.py: drop_<reason>
    parts = ["%s rx %d tx %d dropped %d" % (spec.kind, st["rx"], st["tx"], dropped)]
    stats = stack.stats
    stats.update(linkopts.stats(nic))
    apps = sorted(k for k in stats if k.startswith("app_"))
    for layer in ["faults_out", "faults_in", "pcap", "eth", "arp", "ip", "icmp", "udp", "tcp",
                  "raw"] + apps:
        counters = stats.get(layer) or {}
        nonzero = ["%s=%d" % (k, v) for k, v in sorted(counters.items()) if v]
        if nonzero:
            parts.append("%s %s" % (layer, " ".join(nonzero)))
    if echoes:
        parts.append("echoed %d" % sum(e.echoed for e in echoes))
    return "; ".join(parts)


def serve_stats(stack, dev, nic, spec, cidr, server):
    """The reply to `ctl stats`: every layer's counters (the device's, under its kind, the link
    options' middleware's and the control socket's too) and every table's limit and use
    (Stack.limits)."""
    stats = stack.stats
    stats[spec.kind] = dict(dev.stats)
    stats.update(linkopts.stats(nic))
    stats["ctl"] = dict(server.stats)
    serving = {"device": spec.text, "ip": cidr, "pid": os.getpid()}
    if spec.kind == "tap":
        serving["tap"] = dev.name
    return {"serve": serving, "stats": stats, "limits": stack.limits()}


def _pty_serve_socket():
    """A pty serve's control socket is named after its pid (ctl.device_name): -> the one of the
    pty serves running, found by the pids in the names."""
    base = os.path.dirname(control.default_path("pty"))
    pids = []
    for name in os.listdir(base) if os.path.isdir(base) else ():
        pid = name[4:-5]
        if name.startswith("pty-") and name.endswith(".sock") and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                continue            # left behind by a serve that was killed
            except PermissionError:
                pass                # another user's, alive
            pids.append(int(pid))
    if not pids:
        raise cliargs.RuntimeFailure("no `barenet serve --dev pty` is running (no control "
                                     "socket pty-PID.sock in %s)" % base)
    if len(pids) > 1:
        raise cliargs.UsageError("%d pty serves are running (pids %s): give --ctl PATH" % (
            len(pids), ", ".join(str(p) for p in sorted(pids))))
    return control.default_path(control.device_name(devspec.parse("pty"), pids[0]))


def ctl(args, out):
    path = args.ctl
    if path is None:
        spec = _spec(args)
        if spec.kind == "pty":
            path = _pty_serve_socket()
        else:
            path = control.default_path(control.device_name(spec))
    try:
        reply = control.request(path, args.what)
    except control.NotRunning:
        # Well-formed, but the environment lacks the serve: exit status 1, as a failed device.
        raise cliargs.RuntimeFailure("no barenet serve answers on %s%s" % (
            path, "" if args.ctl else " (is `barenet serve --dev %s` running?)" % spec.text))
    except (OSError, ValueError) as e:
        raise cliargs.RuntimeFailure("control socket %s: %s" % (
            path, e.strerror if isinstance(e, OSError) and e.strerror else e))
    if "error" in reply:
        raise cliargs.RuntimeFailure("serve on %s: %s" % (path, reply["error"]))
    if args.json:
        out.write(json.dumps(reply, indent=1, sort_keys=True) + "\n")
    else:
        try:
            ctltables.render(args.what, reply, out)
        except (KeyError, TypeError, ValueError) as e:
            raise cliargs.RuntimeFailure("control socket %s: unexpected reply to %s: %s" % (
                path, args.what, e))
    out.flush()
    return 0


def main(argv=None, out=None, err=None):
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        try:
            return _dispatch(argv, out, err)
        finally:
            out.flush()     # here, not at exit, so that a closed pipe is caught below
    except BrokenPipeError:
        # `barenet ctl conns | head`: the reader left. Quiet, as a tool killed by SIGPIPE, and
        # with stdout on /dev/null so that the interpreter's last flush does not raise again.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _dispatch(argv, out, err):
    parser = _parser(_command(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise cliargs.UsageError("a command is required (try `%s --help`)" % PROG)
        return args.func(args, out)
    except cliargs.UsageError as e:
        print("%s: error: %s" % (PROG, e), file=err, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except cliargs.RuntimeFailure as e:
        print("%s: error: %s" % (PROG, e), file=err, flush=True)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
