"""`barenet bridge`: a board that speaks SLIP (or barenet's UDP tunnel) to the host, brought
onto a network (issue 10 item 5). Two modes:

- kernel (root): `--tun NAME --local ADDR --peer ADDR`. A point-to-point TUN is made in the
  bridge's network namespace and every datagram is relayed between it and the board
  (relay.py), so the board is a host the kernel routes to: ping, curl, nc reach it.
- user-mode NAT (no root): `--nat`. barenet's gateway stack answers the board on its link
  (nat/gateway.py): the board's connections, UDP flows and pings go out on host sockets;
  `--forward` lets host connections and datagrams in to board ports.

Both run on the host Runner until SIGINT/SIGTERM, with a control socket (ctl.py) answering
`stats`, `ifaces` and `nat`.
"""

import argparse
import os
import signal
import subprocess

from barenet import addr
from barenet.stack import Stack
from barenet.wire import dns as dnswire

from barenet_host import cliargs
from barenet_host import ctl as control
from barenet_host import ctltables
from barenet_host.devices import spec as devspec
from barenet_host.nat import dnsfwd
from barenet_host.nat import forward as fwdmod
from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.nat import icmp as naticmp
from barenet_host.nat.allow import AllowList
from barenet_host.nat.gateway import Gateway
from barenet_host.nat.table import NATTable, TIMEOUTS
from barenet_host import linkopts
from barenet_host.devices.tun import TunDevice
from barenet_host.relay import Relay
from barenet_host.runner import Runner

# The NAT's board-side subnet: internal to barenet (no kernel interface has it). The gateway
# is its first host, the board its 15th (as QEMU's user networking: 10.0.2.2 and .15).
NET = "192.0.2.0/24"
GATEWAY_HOST = 1
BOARD_HOST = 15
NAT_MAX = 4096
NAT_MAX_MAX = 1 << 20
IP_TIMEOUT_S = 10


def _network(text):
    """A CIDR for --net and --nat-allow: host bits may be set, they are masked off."""
    try:
        ip, prefix = addr.parse_cidr(text)
    except ValueError:
        prefix = -1
    if "/" not in text or not 0 <= prefix <= 32:
        raise argparse.ArgumentTypeError("invalid network %r (want a.b.c.d/prefix)" % text)
    return addr.and4(ip, addr.prefix_mask(prefix)), prefix


def _forward(text):
    try:
        return fwdmod.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _upstream(text):
    host, colon, port = text.partition(":")
    try:
        addr.ip_aton(host)
        port = int(port) if colon else dnswire.PORT
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError("invalid DNS server %r (want ADDR[:PORT])" % text)
    return host, port


def _timeout(text):
    kind, eq, ms = text.partition("=")
    if kind not in TIMEOUTS or not eq or not ms.isdigit() or not 0 < int(ms) <= 1 << 29:
        raise argparse.ArgumentTypeError(
            "invalid timeout %r (want KIND=MS, KIND one of %s, MS 1..%d)"
            % (text, ", ".join(sorted(TIMEOUTS)), 1 << 29))
    return kind, int(ms)


def add_parser(sub):
    b = sub.add_parser(
        "bridge", help="bring a SLIP board onto the network: a kernel TUN, or user-mode NAT",
        description="Bridge a board on a serial-like link (serial, pty, unix, udp) to the "
        "host. Kernel mode (root): --tun NAME --local ADDR --peer ADDR makes a "
        "point-to-point TUN, and the board is a host the kernel reaches. User-mode NAT "
        "(--nat, no root): barenet answers the board as its gateway and carries its "
        "connections, UDP flows and pings on host sockets.")
    b.add_argument("--board", required=True, type=cliargs.device, metavar="SPEC",
                   help="the board's link: serial:PORT[@BAUD][,crc], pty[,crc], "
                   "unix:PATH[,crc] or udp:[ADDR:]PORT,ip")
    k = b.add_argument_group("kernel mode (root)")
    k.add_argument("--tun", type=cliargs.tap_name, metavar="NAME",
                   help="the TUN to create in this network namespace")
    k.add_argument("--local", type=cliargs.ip, metavar="ADDR", help="the kernel's address on it")
    k.add_argument("--peer", type=cliargs.ip, metavar="ADDR", help="the board's address")
    n = b.add_argument_group("user-mode NAT")
    n.add_argument("--nat", action="store_true", help="run the NAT gateway for the board")
    n.add_argument("--net", type=_network, default=_network(NET), metavar="CIDR",
                   help="the board's subnet, internal to barenet; the gateway is its first "
                   "host, the board its 15th (default %s: gateway 192.0.2.1, board "
                   "192.0.2.15)" % NET)
    n.add_argument("--dns", type=_upstream, metavar="ADDR[:PORT]",
                   help="where the gateway's DNS forwarder sends the board's queries "
                   "(default: the first IPv4 nameserver of /etc/resolv.conf)")
    n.add_argument("--forward", type=_forward, action="append", default=[],
                   metavar="PROTO:[HOSTADDR:]PORT=BOARDPORT",
                   help="let host connections (tcp) or datagrams (udp) to HOSTADDR:PORT "
                   "(default address 127.0.0.1) in to the board's BOARDPORT; may be repeated")
    n.add_argument("--nat-allow", type=_network, action="append", default=[], metavar="CIDR",
                   help="destinations the board may reach; may be repeated (default: any "
                   "destination, as QEMU's user networking). Others get a RST or ICMP "
                   "administratively prohibited")
    n.add_argument("--nat-max", type=cliargs.ranged("nat-max", 1, NAT_MAX_MAX), default=NAT_MAX,
                   metavar="N", help="flows held at once (default %d); beyond, new ones are "
                   "refused and counted" % NAT_MAX)
    n.add_argument("--nat-timeout", type=_timeout, action="append", default=[],
                   metavar="KIND=MS", help="idle timeout of a kind of flow, ms; defaults: %s"
                   % ", ".join("%s=%d" % kv for kv in sorted(TIMEOUTS.items())))
    b.add_argument("--ctl", metavar="PATH", help="control socket for `barenet ctl` (default %s "
                   "in kernel mode, %s with --nat)" % (control.default_path("TUN"),
                                                      control.default_path("nat")))
    linkopts.add_arguments(b)
    b.set_defaults(func=bridge)


def _check(args):
    spec = args.board
    if not spec.serial_like:
        raise cliargs.UsageError("--board must be serial, pty, unix or udp, not %s" % spec.kind)
    if spec.link != "ip":
        raise cliargs.UsageError("--board %s carries Ethernet frames; the bridge needs IP "
                                 "datagrams (add ,ip to a udp device)" % spec.text)
    kernel = [a for a in ("tun", "local", "peer") if getattr(args, a) is not None]
    if args.nat == bool(kernel):
        raise cliargs.UsageError("choose one mode: --tun NAME --local ADDR --peer ADDR, "
                                 "or --nat")
    if kernel and len(kernel) != 3:
        raise cliargs.UsageError("kernel mode needs --tun, --local and --peer")
    if kernel and args.local == args.peer:
        raise cliargs.UsageError("--local and --peer must differ")
    nat_only = args.forward or args.nat_allow or args.nat_timeout
    if kernel and (nat_only or args.dns):
        raise cliargs.UsageError("--forward, --nat-allow, --nat-timeout and --dns go with "
                                 "--nat")
    if args.nat:
        net, prefix = args.net
        if prefix > 27:
            raise cliargs.UsageError("--net %s/%d is too small (at most /27: the board is "
                                     "its 15th host)" % (addr.ip_ntoa(net), prefix))
        seen = set()
        for f in args.forward:
            if (f.proto, f.addr, f.port) in seen:
                raise cliargs.UsageError("forward %s: %s %s:%d is forwarded twice"
                                         % (f.text, f.proto, f.addr, f.port))
            seen.add((f.proto, f.addr, f.port))


def _host(net, n):
    return (int.from_bytes(net, "big") + n).to_bytes(4, "big")


def _open_board(spec):
    try:
        return devspec.open_device(spec)
    except (OSError, ValueError) as e:
        raise cliargs.UsageError("--board %s: %s" % (
            spec.text, e.strerror if isinstance(e, OSError) and e.strerror else e))


def _control(path, runner, commands):
    try:
        return control.ControlServer(path, runner, commands)
    except (control.InUse, OSError) as e:
        raise cliargs.UsageError("control socket %s: %s" % (
            path, e.strerror if isinstance(e, OSError) and e.strerror else e))


def _serve(runner, out, what):
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: runner.stop())
    print("barenet: bridge: " + what, file=out, flush=True)
    try:
        runner.run()
    except OSError as e:
        # A device failed under us (the serial port unplugged): exit status 1.
        raise cliargs.RuntimeFailure(e.strerror or str(e))


def bridge(args, out):
    _check(args)
    if args.nat:
        return _nat(args, out)
    return _kernel(args, out)


# ctl commands with no table in kernel mode, and where to look instead
_KERNEL_MODE_HAS_NO = {
    "nat": "no NAT in kernel mode (bridge --nat has one)",
    "conns": "no TCP of its own in kernel mode: see `ss -t` on the host, or ctl the board",
    "arp": "no ARP in kernel mode (a TUN is point-to-point): see `ip neigh` for the host's",
    "routes": "no routes of its own in kernel mode: see `ip route` on the host",
}


def _kernel(args, out):
    dev = _open_board(args.board)
    relay = server = tun = None
    board = dev
    try:
        board = linkopts.wrap(dev, args, out)
        mtu = getattr(dev, "mtu", devspec.SLIP_MTU)
        tun = _open_tun(args.tun, args.local, args.peer, mtu)
        relay = Relay(board, tun)
        path = args.ctl or control.default_path(args.tun)
        # Kernel mode only moves datagrams: the tables are the kernel's and the board's own
        commands = dict((what, lambda why=why: {"error": why})
                        for what, why in _KERNEL_MODE_HAS_NO.items())
        commands.update({
            "stats": lambda: _kernel_stats(dev, tun, relay, server),
            "ifaces": lambda: {"ifaces": [_board_row(args.board, dev, None),
                                          _tun_row(tun, args)]}})
        server = _control(path, relay.runner, commands)
        _serve(relay.runner, out, "board %s on %s, %s TUN %s %s peer %s, mtu %d%s, "
               "control %s" % (addr.ip_ntoa(args.peer), _where(args.board, dev),
                               "new" if tun.created else "existing", args.tun,
                               addr.ip_ntoa(args.local), addr.ip_ntoa(args.peer), mtu,
                               linkopts.describe(args), path))
    finally:
        if server is not None:
            server.close()
        if relay is not None:
            relay.close()
        if tun is not None:
            tun.close()
        linkopts.close(board)
        dev.close()
    print("barenet: bridge: stopped: board to tun %d, tun to board %d datagrams"
          % (relay.frames["a_to_b"], relay.frames["b_to_a"]), file=out, flush=True)
    return 0


def _open_tun(name, local, peer, mtu):
    """A TUN in this network namespace, point-to-point from local to peer (created and
    configured here; an existing one is attached to as it is)."""
    try:
        tun = TunDevice(name, mtu=mtu)
    except OSError as e:
        raise cliargs.UsageError(e.strerror or str(e))
    if tun.created:
        for cmd in (["addr", "add", addr.ip_ntoa(local), "peer", addr.ip_ntoa(peer), "dev", name],
                    ["link", "set", "dev", name, "mtu", str(mtu), "up"]):
            try:
                r = subprocess.run(["ip"] + cmd, capture_output=True, text=True,
                                   timeout=IP_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as e:
                tun.close()
                raise cliargs.UsageError("ip %s: %s" % (" ".join(cmd), e))
            if r.returncode:
                tun.close()
                raise cliargs.UsageError("ip %s: %s" % (" ".join(cmd),
                                                        r.stderr.strip() or r.returncode))
    return tun


def _where(spec, dev):
    # a pty is new on every run: its slave's path is what the board's side must open
    path = getattr(getattr(dev, "transport", None), "path", None)
    return spec.text + (" (" + path + ")" if spec.kind == "pty" and path else "")


def _tun_row(tun, args):
    return {"side": "kernel", "device": "tun:" + args.tun, "link": "ip", "mtu": tun.mtu,
            "address": addr.ip_ntoa(args.local), "peer": addr.ip_ntoa(args.peer),
            "stats": dict(getattr(tun, "stats", {}))}


def _kernel_stats(board, tun, relay, server):
    return {"bridge": {"mode": "kernel", "pid": os.getpid()},
            "stats": {"board": dict(getattr(board, "stats", {})),
                      "tun": dict(getattr(tun, "stats", {})), "relay": dict(relay.frames),
                      "ctl": dict(server.stats)}, "limits": {}}


def _nat(args, out):
    net, prefix = args.net
    gw_ip, board_ip = _host(net, GATEWAY_HOST), _host(net, BOARD_HOST)
    dev = _open_board(args.board)
    gw = runner = server = dns = None
    board = dev
    try:
        board = linkopts.wrap(dev, args, out)
        stack = Stack("host", syncookies=False)
        iface = stack.add_interface(board, ip="%s/%d" % (addr.ip_ntoa(gw_ip), prefix))
        runner = Runner(stack)
        why_no_pings = naticmp.available()
        if why_no_pings:
            print("barenet: bridge: " + why_no_pings, file=out, flush=True)
        gw = Gateway(stack, runner, board_ip, AllowList(args.nat_allow),
                     NATTable(args.nat_max, dict(args.nat_timeout)), pings=not why_no_pings)
        # The board's own address by DHCP (a pool of one), and names through the gateway
        gw_text, board_text = addr.ip_ntoa(gw_ip), addr.ip_ntoa(board_ip)
        dhcp = DHCPServer(stack, board_text, board_text, router=gw_text, dns=gw_text)
        runner.add_task(dhcp.poll)
        try:
            upstream = args.dns or dnsfwd.upstream_from_resolv_conf()
        except ValueError as e:
            raise cliargs.UsageError(str(e))
        dns = dnsfwd.DNSForwarder(stack, runner, upstream)
        runner.add_task(dns.poll)
        services = {"dhcp": dhcp, "dns": dns}
        for f in args.forward:
            try:
                gw.add_forward(f)
            except OSError as e:
                raise cliargs.UsageError("forward %s: cannot listen on %s:%d: %s"
                                         % (f.text, f.addr, f.port, e.strerror or e))
        path = args.ctl or control.default_path("nat")
        # The gateway stack's tables (conns, arp, routes) as serve has them; its one
        # interface is the board's side, shown with the device
        commands = ctltables.stack_commands(stack, runner.clock)
        commands.update({
            "stats": lambda: _stats(stack, dev, gw, server, services),
            "ifaces": lambda: {"ifaces": [_board_row(args.board, dev, iface)]},
            "nat": lambda: gw.info(runner.clock())})
        server = _control(path, runner, commands)
        what = "NAT for the board %s on %s, gateway %s/%d (DHCP, DNS to %s:%d), allow %s%s" % (
            board_text, _where(args.board, dev), gw_text, prefix, upstream[0], upstream[1],
            gw.allow.describe(), linkopts.describe(args))
        if args.forward:
            what += ", forward " + " ".join(f.text for f in args.forward)
        _serve(runner, out, what + ", control " + path)
    finally:
        if server is not None:
            server.close()
        if dns is not None:
            dns.close()
        if gw is not None:
            gw.close()
        if runner is not None:
            runner.close()
        linkopts.close(board)
        dev.close()
    print("barenet: bridge: stopped: %s" % _summary(gw), file=out, flush=True)
    return 0


def _board_row(spec, nic, iface):
    row = {"side": "board", "device": spec.text, "link": spec.link,
           "mtu": iface.mtu if iface is not None else getattr(nic, "mtu", None),
           "stats": dict(getattr(nic, "stats", {}))}
    if iface is not None:
        row["address"] = "%s/%d" % (addr.ip_ntoa(iface.ip), iface.prefix)
    return row


def _stats(stack, board, gw, server, services):
    stats = stack.stats
    for name, svc in services.items():
        stats[name] = dict(svc.stats)
    stats["board"] = dict(getattr(board, "stats", {}))
    stats["nat"] = dict(gw.stats, **gw.table.stats)
    stats["ctl"] = dict(server.stats)
    limits = stack.limits()
    limits["nat_flows"] = {"limit": gw.table.max_flows, "used": len(gw.table.flows)}
    return {"bridge": {"mode": "nat", "pid": os.getpid()}, "stats": stats, "limits": limits}


def _summary(gw):
    if gw is None:
        return "nothing carried"
    return " ".join("%s=%d" % kv for kv in sorted(dict(gw.stats, **gw.table.stats).items())
                    if kv[1])
