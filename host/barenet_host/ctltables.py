"""What `barenet ctl` can ask a running stack (serve, bridge), and how each answer prints.

`stack_commands(stack, clock)` gives a ControlServer (ctl.py) its table commands; the command
that owns the stack adds `stats` (its own counters beside the stack's) and, for a bridge,
`nat`. Each reply is one JSON object; its schema, which `ctl --json` prints as is:

    stats   {"serve": {...}, "stats": {layer: {counter: int}},
             "limits": {table: {"limit": int, "used": int}}}          (ctl.format_stats)
    conns   {"conns": [{"local": "a.b.c.d:port", "remote": "a.b.c.d:port", "state": str,
             "send_queue": int, "recv_queue": int, "cwnd": int, "srtt_ms": int,
             "rto_ms": int, "retransmits": int, ... every key of TCB.info()}]}
    arp     {"arp": [{"iface": str, "ip": "a.b.c.d", "mac": "xx:..:xx" or null,
             "state": "REACHABLE"|"STALE"|"DELAY"|"PROBE"|"INCOMPLETE", "age_ms": int,
             "queued_bytes": int}]}      age: since the last confirmation (INCOMPLETE: since
                                         the first request); queued: datagrams waiting on it
    routes  {"routes": [{"dest": "a.b.c.d/n", "gateway": "a.b.c.d" or null, "iface": str,
             "src": "a.b.c.d"}]}         in the order the stack tries them (ip.py _route)
    ifaces  {"ifaces": [{"name": str, "link": "ethernet"|"ip", "mac": str or null,
             "ip": "a.b.c.d/n" or null, "gateway": str or null, "mtu": int, "up": bool,
             "running": bool, "stats": {counter: int}}]}
             (a bridge's rows name their "side" and "device" instead, and "address" for ip:
             every key but "link" and "mtu" may be missing, and prints as "-")
    nat     a bridge's NAT gateway (nat/gateway.py info()): {"nat": {its settings},
             "table": {"used": int, "limit": int, "tcp": int, "udp": int, "icmp": int,
             "buffered": int}, "stats": {counter: int},
             "flows": [{"proto": "tcp"|"udp"|"icmp", "dir": "out"|"in",
             "board": "a.b.c.d:port" ("a.b.c.d id N" for icmp), "remote": str, "state": str,
             "bytes_up": int, "bytes_down": int, "buffered": int, "idle_ms": int,
             "timeout_ms": int}]}

`render(command, reply, out)` prints a reply as a table (rich), plain text when out is no
terminal.
"""

from barenet import ticks
from barenet.addr import ip_ntoa, mac_ntoa, prefix_mask, and4
from barenet.apps.status import connections

from barenet_host import ctl as control

COMMANDS = ("stats", "conns", "arp", "routes", "ifaces", "nat")
# ARP cache states (barenet/neighbor.py numbers them in eviction order)
_ARP_STATES = ("STALE", "DELAY", "PROBE", "REACHABLE")


def conns(stack):
    return {"conns": connections(stack)}


def arp(stack, now):
    rows = []
    for i in stack.interfaces:
        cache = getattr(i, "arp", None)
        if cache is None:
            continue            # an ip link resolves nothing
        for ip, e in sorted(cache.entries.items()):
            rows.append({"iface": i.name, "ip": ip_ntoa(ip), "mac": mac_ntoa(e.mac),
                         "state": _ARP_STATES[e.state],
                         "age_ms": max(0, ticks.diff(now, e.updated)), "queued_bytes": 0})
        for ip, p in sorted(cache.pending.items()):
            rows.append({"iface": i.name, "ip": ip_ntoa(ip), "mac": None, "state": "INCOMPLETE",
                         "age_ms": max(0, ticks.diff(now, p.born)), "queued_bytes": p.bytes})
    return {"arp": rows}


def routes(stack):
    # ip.py _route: our own addresses and 127/8 by loopback, then each interface's subnet,
    # then the first interface with a gateway.
    rows = [{"dest": "127.0.0.0/8", "gateway": None, "iface": "lo", "src": "127.0.0.1"}]
    for i in stack.interfaces:
        if i.configured:
            rows.append({"dest": "%s/32" % ip_ntoa(i.ip), "gateway": None, "iface": "lo",
                         "src": ip_ntoa(i.ip)})
    for i in stack.interfaces:
        if i.configured:
            net = and4(i.ip, prefix_mask(i.prefix))
            rows.append({"dest": "%s/%d" % (ip_ntoa(net), i.prefix), "gateway": None,
                         "iface": i.name, "src": ip_ntoa(i.ip)})
    for i in stack.interfaces:
        if i.gateway is not None:
            rows.append({"dest": "0.0.0.0/0", "gateway": ip_ntoa(i.gateway), "iface": i.name,
                         "src": ip_ntoa(i.ip)})
            break
    return {"routes": rows}


def ifaces(stack):
    rows = []
    for i in stack.interfaces:
        mac = getattr(i, "mac", None)
        rows.append({"name": i.name, "link": "ethernet" if mac is not None else "ip",
                     "mac": None if mac is None else mac_ntoa(mac),
                     "ip": "%s/%d" % (ip_ntoa(i.ip), i.prefix) if i.configured else None,
                     "gateway": None if i.gateway is None else ip_ntoa(i.gateway),
                     "mtu": i.mtu, "up": i.up, "running": i.running, "stats": dict(i.stats)})
    return {"ifaces": rows}


def stack_commands(stack, clock):
    """{word: fn() -> reply} for conns, arp, routes and ifaces of stack; clock() -> now_ms."""
    return {"conns": lambda: conns(stack), "arp": lambda: arp(stack, clock()),
            "routes": lambda: routes(stack), "ifaces": lambda: ifaces(stack)}


def _ms(v):
    return "" if v is None else str(v)


def _iface_state(r):
    if "running" not in r:
        return "-"
    return "running" if r["running"] else ("up" if r["up"] else "down")


# command -> (title, the reply's key, [(column, fn(row) -> text)])
_TABLES = {
    "conns": ("TCP connections", "conns", [
        ("local", lambda r: r["local"]), ("remote", lambda r: r["remote"]),
        ("state", lambda r: r["state"]), ("send-q", lambda r: str(r.get("send_queue", 0))),
        ("recv-q", lambda r: str(r.get("recv_queue", 0))), ("cwnd", lambda r: _ms(r.get("cwnd"))),
        ("srtt ms", lambda r: _ms(r.get("srtt_ms"))), ("rto ms", lambda r: _ms(r.get("rto_ms"))),
        ("retrans", lambda r: str(r.get("retransmits", 0)))]),
    "arp": ("ARP cache", "arp", [
        ("iface", lambda r: r["iface"]), ("ip", lambda r: r["ip"]),
        ("mac", lambda r: r["mac"] or "(incomplete)"), ("state", lambda r: r["state"]),
        ("age ms", lambda r: str(r["age_ms"])), ("queued", lambda r: str(r["queued_bytes"]))]),
    "routes": ("routes", "routes", [
        ("destination", lambda r: r["dest"]), ("gateway", lambda r: r["gateway"] or "-"),
        ("iface", lambda r: r["iface"]), ("source", lambda r: r["src"])]),
    "ifaces": ("interfaces", "ifaces", [
        ("name", lambda r: r.get("name") or " ".join(
            r[k] for k in ("side", "device") if r.get(k)) or "-"),
        ("link", lambda r: r["link"]), ("mac", lambda r: r.get("mac") or "-"),
        ("ip", lambda r: r.get("ip") or r.get("address") or "-"),
        ("gateway", lambda r: r.get("gateway") or "-"), ("mtu", lambda r: _ms(r["mtu"])),
        ("state", _iface_state),
        ("rx", lambda r: str(r.get("stats", {}).get("rx", 0))),
        ("tx", lambda r: str(r.get("stats", {}).get("tx", 0)))]),
    "nat": ("NAT flows", "flows", [
        ("proto", lambda r: r["proto"]), ("dir", lambda r: r["dir"]),
        ("board", lambda r: r["board"]), ("remote", lambda r: r["remote"]),
        ("state", lambda r: r["state"]), ("idle ms", lambda r: str(r["idle_ms"])),
        ("up", lambda r: str(r["bytes_up"])), ("down", lambda r: str(r["bytes_down"])),
        ("buffered", lambda r: str(r["buffered"]))]),
}



def render(command, reply, out):
    """Print reply (to `command`) on out as a table. ValueError if it lacks its key."""
    if command == "stats":
        out.write(control.format_stats(reply))
        return
    from barenet_host import term   # rich, imported only by the commands that print with it
    title, key, cols = _TABLES[command]
    rows = reply.get(key)
    if not isinstance(rows, list):
        raise ValueError("reply has no %r list" % key)
    if command == "nat":
        t = reply["table"]
        out.write("NAT table: %d of %d flows (tcp %d, udp %d, icmp %d), %d bytes buffered\n"
                  % (t["used"], t["limit"], t["tcp"], t["udp"], t["icmp"], t["buffered"]))
    term.print_table(out, title, [c for c, _ in cols],
                       [[fn(r) for _, fn in cols] for r in rows])
