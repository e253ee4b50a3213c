"""`barenet plot INPUT -o OUT.png`: a PNG of one TCP connection, drawn with matplotlib (the
optional extra `barenet[plot]`; Agg backend, no display needed).

- From a classic pcap (Ethernet or raw IP), `--kind tsg`: the time-sequence graph of the
  connection's data direction, as tcptrace draws it: each data segment a vertical bar from its
  first to its last byte, retransmissions in red, the peer's cumulative ACK and the right edge
  of its window as step lines, its SACK blocks (RFC 2018) as purple bars.
- From a trace of `barenet serve --trace FILE` (conntrace.py), `--kind cwnd`: cwnd and
  ssthresh over time, fast recovery shaded (RFC 5681, RFC 6675), and below srtt, rttvar and
  the RTO (RFC 6298).

The input's kind is told by its first bytes, not its name. `--conn N` picks the Nth connection
in order of appearance; by default the one that carried the most data.
"""

import io

from barenet.apps import chart
from barenet.tcp.congestion import INFINITE
from barenet.wire import tcp

from barenet_host import cliargs, conntrace, tcpflows

WIDTH, HEIGHT, DPI = 10, 6, 100   # inches: a 1000 x 600 PNG
_SEQ = 1 << 32
_INSTALL = "pip install 'barenet[plot]'"
# One colour per thing drawn, in both kinds of graph; cwnd, ssthresh, srtt and RTO as on the
# status page's chart
COLOURS = dict(chart.COLOURS, data="#1f4fd0", retx="#e0201b", sack="#a020c0", ack="#1a9a2a",
               wnd="#c8a000", recovery="#e0201b", rttvar_ms="#a020c0")


def add_parser(sub):
    p = sub.add_parser("plot", help="draw a PNG of a TCP connection from a pcap or a trace",
                       description="Draw a time-sequence graph (from a pcap) or cwnd, ssthresh "
                       "and RTT over time (from a `barenet serve --trace` file) as a PNG.")
    p.add_argument("input", metavar="INPUT", help="a classic pcap, or a barenet trace (.jsonl)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="the PNG to write")
    p.add_argument("--conn", type=cliargs.ranged("conn", 1, 1 << 20), metavar="N",
                   help="the Nth connection in the input (default: the one with most data)")
    p.add_argument("--kind", choices=("tsg", "cwnd"),
                   help="tsg: time-sequence graph (pcap); cwnd: cwnd/ssthresh/RTT (trace); "
                   "default: what the input holds")
    p.set_defaults(func=main)


def main(args, out):
    draw, conn, title, picked, count = _load(args)
    plt = _pyplot()
    fig = plt.figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    try:
        summary = draw(fig, conn, "connection %d of %d%s: %s" % (
            picked, count, "" if args.conn else " (most data)", title))
        try:
            fig.savefig(args.output, dpi=DPI, format="png")
        except OSError as e:
            # the path named by -o, as a bad --trace path for serve: the user's to fix
            raise cliargs.UsageError("-o %s: %s" % (args.output, e.strerror or e))
    finally:
        plt.close(fig)
    print("barenet: wrote %s: %s, %s" % (args.output, title, summary), file=out, flush=True)
    return 0


def _load(args):
    """The input, read: -> (its graph's draw function, the connection picked, its title, its
    number, how many the input has). What is wrong with the input is a UsageError."""
    try:
        with open(args.input, "rb") as f:
            is_trace = f.read(1) == b"{"
            f.seek(0)
            kind = args.kind or ("cwnd" if is_trace else "tsg")
            if kind == "cwnd" and not is_trace:
                raise cliargs.UsageError("%s is not a barenet trace: cwnd comes from `barenet "
                                         "serve --trace FILE` (a pcap gives --kind tsg)"
                                         % args.input)
            if kind == "tsg" and is_trace:
                raise cliargs.UsageError("%s is a barenet trace: a time-sequence graph comes "
                                         "from a pcap (a trace gives --kind cwnd)" % args.input)
            return _traced(args, f) if is_trace else _captured(args, f)
    except OSError as e:
        raise cliargs.UsageError("%s: %s" % (args.input, e.strerror or e))
    except ValueError as e:
        raise cliargs.UsageError("%s: %s" % (args.input, e))


def _traced(args, f):
    conns = conntrace.load(io.TextIOWrapper(f, encoding="utf-8", errors="replace"))
    picked, count = _pick(args, sorted(conns), lambda n: _sent(conns[n]["rows"]))
    conn = conns[picked]
    # cwnd exists from the end of the handshake on (tcb.py info())
    conn["rows"] = [r for r in conn["rows"] if r["cwnd"] is not None]
    if not conn["rows"]:
        raise ValueError("connection %d has no cwnd: it never finished its handshake" % picked)
    return _cwnd, conn, "%s -> %s" % (conn["local"], conn["remote"]), picked, count


def _captured(args, f):
    flows, _ = tcpflows.flows(f)
    picked, count = _pick(args, range(1, len(flows) + 1),
                          lambda n: flows[n - 1].payload(True) + flows[n - 1].payload(False))
    flow = flows[picked - 1]
    return _tsg, flow, str(flow), picked, count


def _pick(args, numbers, size):
    """-> (the connection number asked for, or the one size() finds biggest; how many)."""
    numbers = list(numbers)
    if not numbers:
        raise ValueError("no TCP connection in it")
    if args.conn is None:
        return max(numbers, key=size), len(numbers)
    if args.conn not in numbers:
        raise ValueError("no connection %d (it has %d)" % (args.conn, len(numbers)))
    return args.conn, len(numbers)


def _sent(rows):
    """Bytes a traced connection sent: its sequence numbers are 32-bit, as on the wire."""
    return (rows[-1]["snd_max"] - rows[0]["snd_una"]) % _SEQ


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise cliargs.RuntimeFailure("plot needs matplotlib: %s (`make venv` installs it)"
                                     % _INSTALL)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def tsg_series(flow):
    """The time-sequence graph of a Flow's data direction (the side that sent more payload),
    in bytes into the stream and seconds since the flow's first segment:
    {"data": [(t, lo, hi)], "retx": [(t, lo, hi)], "ack": [(t, ack)], "wnd": [(t, edge)],
    "sack": [(t, left, right)]}. A data segment is a retransmission when it starts below the
    highest sequence number sent before it."""
    fwd = flow.payload(True) >= flow.payload(False)
    segs = flow.segs
    t0 = segs[0].t_us
    mine = [s for s in segs if s.fwd == fwd]
    # Offsets into the byte stream: its first byte follows the SYN (RFC 9293 3.4)
    base = next((s.seq + 1 for s in mine if s.flags & tcp.SYN), mine[0].seq if mine else 0)
    # Window scale (RFC 7323 2.2) applies when both SYNs carried the option.
    syn_ws = dict((s.fwd, s.wscale) for s in segs if s.flags & tcp.SYN)
    peer_ws = syn_ws.get(not fwd) if syn_ws.get(fwd) is not None else None
    shift = peer_ws or 0

    def rel(x):
        r = (x - base) % _SEQ
        return r - _SEQ if r >= _SEQ // 2 else r   # before the ISN: a capture that began late

    out = {"data": [], "retx": [], "ack": [], "wnd": [], "sack": []}
    top = None
    for s in segs:
        t = (s.t_us - t0) / 1e6
        if s.fwd == fwd:
            if s.length:
                lo = rel(s.seq + (1 if s.flags & tcp.SYN else 0))
                hi = lo + s.length
                out["retx" if top is not None and lo < top else "data"].append((t, lo, hi))
                top = hi if top is None or hi > top else top
        elif s.flags & tcp.ACK:
            a = rel(s.ack)
            out["ack"].append((t, a))
            wnd = s.wnd if s.flags & tcp.SYN else s.wnd << shift   # a SYN's window is unscaled
            out["wnd"].append((t, a + wnd))
            for left, right in s.sack:
                out["sack"].append((t, rel(left), rel(right)))
    return out


def _tsg(fig, flow, title):
    ser = tsg_series(flow)
    ax = fig.add_subplot(1, 1, 1)
    for key, label in (("data", "data"), ("sack", "SACK blocks"), ("retx", "retransmitted")):
        bars = ser[key]
        if bars:
            ax.vlines([b[0] for b in bars], [b[1] for b in bars], [b[2] for b in bars],
                      colors=COLOURS[key], linewidth=2, label=label, zorder=3)
    # A mark at each segment's end, as tcptrace's arrowheads: on a long transfer a segment is
    # less than a pixel tall, and only the marks show where data went out.
    for key, mark in (("data", "."), ("retx", "x")):
        bars = ser[key]
        if bars:
            ax.plot([b[0] for b in bars], [b[2] for b in bars], mark, color=COLOURS[key],
                    markersize=3 if mark == "." else 4, zorder=3)
    for key, label in (("ack", "ACK"), ("wnd", "window edge")):
        pts = ser[key]
        if pts:
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", color=COLOURS[key],
                    linewidth=1.0, label=label)
    # The peer's window edge may run far ahead of the data: the axis follows the data, and
    # the edge shows where it comes near.
    sent = [b[2] for b in ser["data"] + ser["retx"]] + [p[1] for p in ser["ack"]]
    if sent:
        lo, hi = min(0, min(sent)), max(sent)
        ax.set_ylim(lo - 0.02 * (hi - lo), hi + 0.1 * (hi - lo) + 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("sequence number (bytes into the stream)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    retx = len(ser["retx"])
    return "%d data segments, %d retransmitted, %d SACK blocks" % (
        len(ser["data"]) + retx, retx, len(ser["sack"]))


def _cwnd(fig, conn, title):
    rows = conn["rows"]
    t = [r["t_ms"] / 1000 for r in rows]
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 2)})
    peak = max(r["cwnd"] for r in rows)
    # ssthresh starts "infinite" (RFC 5681 3.1: arbitrarily high): not drawn until it is set.
    ss = [r["ssthresh"] if r["ssthresh"] < INFINITE else float("nan") for r in rows]
    top.step(t, [r["cwnd"] for r in rows], where="post", color=COLOURS["cwnd"], label="cwnd")
    if any(v == v for v in ss):     # NaN != NaN: a connection that never lost has none
        top.step(t, ss, where="post", color=COLOURS["ssthresh"], linestyle="--",
                 label="ssthresh")
    start = None
    for x, r in zip(t + [t[-1]], rows + [{"in_recovery": False}]):
        if r["in_recovery"] and start is None:
            start = x
        elif not r["in_recovery"] and start is not None:
            top.axvspan(start, x, color=COLOURS["recovery"], alpha=0.15, linewidth=0)
            start = None
    top.set_ylim(0, peak * 1.15 or 1)
    top.set_ylabel("bytes")
    top.set_title(title, fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    top.grid(True, alpha=0.3)
    for key, style in (("srtt_ms", "-"), ("rttvar_ms", "-"), ("rto_ms", "--")):
        bottom.step(t, [r[key] for r in rows], where="post", color=COLOURS[key], linestyle=style,
                    label=key[:-3])
    # The RTO's floor (RFC 6298 (2.4): 1 s) would flatten the RTT itself on a linear scale
    bottom.set_yscale("log")
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("ms (log scale)")
    bottom.legend(loc="upper left", fontsize=8)
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    recoveries = sum(1 for a, b in zip(rows, rows[1:]) if b["in_recovery"] and not a["in_recovery"])
    return "%d samples, cwnd peak %d, %d recoveries, %d timeouts" % (
        len(rows), peak, recoveries, rows[-1]["timeouts"])
