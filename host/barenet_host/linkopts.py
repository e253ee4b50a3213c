"""The link options every command that opens a device shares: `--faults SPEC`, `--pcap FILE`,
`--verbose` (issue 10 items 6, 7, 11). `add_arguments(parser)` adds them; `wrap(nic, args, out)`
stacks their middleware on the opened device; `close(nic)` closes what wrap opened.

The stack, seen from the stack down:

    stack -> TraceNIC (--verbose) -> PcapNIC (--pcap) -> FaultyNIC (--faults) -> device

Faults sit nearest the wire, so the log and the capture show what barenet itself sent and
received: a frame the fault model loses on the way out is in the capture, one it loses on the
way in is not, and a corrupted inbound frame is captured as barenet got it. Without --faults
the capture holds exactly the frames the device counted (its stats rx + tx).
"""

import argparse

from barenet_host import cliargs
from barenet_host.faults import FaultModel, FaultyNIC, SPEC_USAGE, parse_spec, spread_seed
from barenet_host.pcap import PcapNIC, PcapWriter, linktype
from barenet_host.trace import TraceNIC


class FaultSpec:
    """--faults, parsed: the text as given and the FaultModel keyword arguments."""

    def __init__(self, text):
        self.text = text
        self.kwargs = parse_spec(text)


def faults_spec(text):
    """argparse type for --faults."""
    try:
        return FaultSpec(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def add_arguments(parser):
    parser.add_argument("--faults", type=faults_spec, metavar="SPEC",
                        help="seeded link faults in both directions, e.g. loss=0.05,dup=0.01,"
                        "reorder=0.02,corrupt=0.01,delay=20ms,rate=1mbit,seed=1 (keys: %s)"
                        % SPEC_USAGE)
    parser.add_argument("--pcap", metavar="FILE",
                        help="write every frame barenet sends and receives to FILE (classic "
                        "pcap, flushed per frame; Ethernet for tap, raw IP for ip links)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print one tcpdump-like line per frame, both directions")


def wrap(nic, args, out):
    """-> nic with the middleware args ask for (args from a parser given add_arguments).

    UsageError when the capture file cannot be created."""
    if args.faults is not None:
        kw = dict(args.faults.kwargs)
        seed = kw.pop("seed", 1)
        nic = FaultyNIC(nic, tx=FaultModel(seed=spread_seed(seed, 0), **kw),
                        rx=FaultModel(seed=spread_seed(seed, 1), **kw))
    if args.pcap is not None:
        try:
            writer = PcapWriter(args.pcap, linktype=linktype(nic))
        except OSError as e:
            raise cliargs.UsageError("--pcap %s: %s" % (args.pcap, e.strerror or e))
        nic = PcapNIC(nic, writer, flush=True)
    if args.verbose:
        nic = TraceNIC(nic, out)
    return nic


def describe(args):
    """What the options add to a command's banner, e.g. ', faults loss=0.05, pcap x.pcap'."""
    parts = []
    if args.faults is not None:
        parts.append("faults " + args.faults.text)
    if args.pcap is not None:
        parts.append("pcap " + args.pcap)
    if args.verbose:
        parts.append("verbose")
    return "".join(", " + p for p in parts)


def stats(nic):
    """The middleware's counters, by layer name: faults_out and faults_in (FaultModel.stats)
    with --faults, pcap (frames written) with --pcap."""
    out = {}
    while nic is not None:
        if isinstance(nic, FaultyNIC):
            out["faults_out"] = dict(nic.tx_faults.stats)
            out["faults_in"] = dict(nic.rx_faults.stats)
        elif isinstance(nic, PcapNIC):
            out["pcap"] = {"frames": nic.writer.frames}
        nic = getattr(nic, "nic", None)
    return out


def close(nic):
    """Close the capture files of the middleware wrap() stacked on nic (not the device)."""
    while nic is not None:
        if isinstance(nic, PcapNIC):
            nic.writer.close()
        nic = getattr(nic, "nic", None)
