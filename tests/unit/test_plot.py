"""`barenet plot` on a real capture and a real trace: a lossy bulk transfer between two barenet
stacks on the virtual wire, recorded on the sender with the pcap wrapper (PcapNIC) and the
connection trace (conntrace.TraceWriter, as `serve --trace` runs it). The PNGs are read back
and must have the expected size and the graph's colours actually drawn; bad input is one line.
"""

import hashlib
import io
import os
import struct
import subprocess
import sys

import pytest

import pngcheck
from barenet_host import cli, conntrace, plot, tcpflows
from barenet_host.faults import FaultModel
from barenet.stack import Stack
from barenet_host.pcap import PcapNIC, PcapWriter
from barenet_host.vwire import Sim

pytestmark = pytest.mark.timeout(120)

NBYTES = 256 * 1172
SIZE = (plot.WIDTH * plot.DPI, plot.HEIGHT * plot.DPI)


def lossy_transfer(pcap_path, trace_path, loss=0.02):
    """NBYTES from 192.0.2.1 to 192.0.2.2's port 9 over 10 Mbit/s links with 10 ms delay, a
    30 kB tail-drop queue and random loss each way -> the sender's final info(); its frames
    in pcap_path and its trace in trace_path."""
    sim = Sim()
    wire = sim.wire()
    big = {"sndbuf": 1 << 18, "rcvbuf": 1 << 18}
    # The sender's NIC wrapped in the pcap recorder, as tcpdump on the sending host: what it
    # sent, and what reached it.
    writer = PcapWriter(pcap_path)
    a = Stack("host", seed=1, **big)
    a.add_interface(PcapNIC(wire.nic(), writer), mac=b"\x02\x00\x00\x00\x00\x01",
                    ip="192.0.2.1/24", now_ms=sim.now)
    sim.add_stack(a)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host", seed=2, **big)
    for i, nic in enumerate(wire.nics):
        nic.faults = FaultModel(seed=3 + i, loss=loss, delay_ms=10, bandwidth_bps=10000000,
                                queue_limit=30000)
    trace = conntrace.TraceWriter(a, open(trace_path, "w"))
    sim.add_task(trace.poll)
    listener = b.tcp.listen(9)
    conn = a.tcp.connect("192.0.2.2", 9)
    assert sim.run(until=listener.readable, max_ms=10000)
    server = listener.accept()
    data = bytes(range(256)) * (NBYTES // 256)
    sent = [0]
    got = bytearray()

    def app(now):
        while sent[0] < len(data) and conn.writable():
            sent[0] += conn.send(data[sent[0]:sent[0] + conn.writable()])
        while True:
            d = server.recv(1 << 16)
            if not d:
                break
            got.extend(d)

    sim.add_task(app)
    assert sim.run(until=lambda: len(got) == len(data), max_ms=60000)
    assert sim.run(until=lambda: not conn.info()["unacked"], max_ms=1000)   # the last ACK
    # Lines reach the file within FLUSH_MS, before the close: the trace's poll woke for it.
    sim.run(max_ms=2 * conntrace.FLUSH_MS)
    with open(trace_path) as f:
        assert len(f.readlines()) == trace.lines
    writer.close()
    trace.close()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    return conn.info()


@pytest.fixture(scope="module")
def lossy(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    pcap, trace = str(d / "lossy.pcap"), str(d / "lossy.jsonl")
    info = lossy_transfer(pcap, trace)
    assert info["retransmits"] >= 5 and info["fast_retransmits"] >= 1   # it was lossy
    return pcap, trace, info


def barenet(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(list(argv), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def test_flows_of_the_capture_match_the_transfer(lossy):
    pcap, _, info = lossy
    with open(pcap, "rb") as f:
        flows, skipped = tcpflows.flows(f)
    assert skipped >= 2                      # the ARP request and reply
    (flow,) = flows
    assert (flow.a, flow.b) == ("192.0.2.1:%d" % info["local"][1], "192.0.2.2:9")
    ser = plot.tsg_series(flow)
    # Every byte was sent, and the last ACK covers them all.
    assert max(hi for _, _, hi in ser["data"] + ser["retx"]) == NBYTES
    assert ser["ack"][-1][1] == NBYTES
    # The sender's capture has every segment it sent: every retransmitted data segment is
    # there (the sender's count may also hold a retransmitted SYN).
    assert 1 <= len(ser["retx"]) <= info["retransmits"]
    assert ser["sack"]                       # the receiver reported the holes (RFC 2018)
    assert all(lo < hi for _, lo, hi in ser["sack"])


def test_tsg_png_from_the_capture(lossy, tmp_path):
    pcap, _, _ = lossy
    png = str(tmp_path / "tsg.png")
    rc, out, err = barenet("plot", pcap, "-o", png)
    assert (rc, err) == (0, ""), err
    assert out.startswith("barenet: wrote %s: 192.0.2.1:" % png) and "retransmitted" in out
    img = pngcheck.load(png)
    assert (img.shape[1], img.shape[0]) == SIZE
    for key in ("data", "retx", "sack", "ack"):
        assert pngcheck.near(img, plot.COLOURS[key]) >= 100, key
    assert pngcheck.ink(img) >= 0.03 * SIZE[0] * SIZE[1]


def test_cwnd_png_from_the_trace(lossy, tmp_path):
    _, trace, info = lossy
    with open(trace) as f:
        conns = conntrace.load(f)
    (conn,) = conns.values()
    rows = conn["rows"]
    assert conn["remote"] == "192.0.2.2:9"
    assert rows[-1]["retransmits"] == info["retransmits"]
    assert any(r["in_recovery"] for r in rows)
    assert all(a["t_ms"] <= b["t_ms"] for a, b in zip(rows, rows[1:]))
    # A line only when something changed.
    keys = conntrace.FIELDS
    assert all([a[k] for k in keys] != [b[k] for k in keys] for a, b in zip(rows, rows[1:]))
    png = str(tmp_path / "cwnd.png")
    rc, out, err = barenet("plot", trace, "-o", png, "--conn", "1")
    assert (rc, err) == (0, ""), err
    assert "recoveries" in out
    img = pngcheck.load(png)
    assert (img.shape[1], img.shape[0]) == SIZE
    for key in ("cwnd", "ssthresh", "srtt_ms", "rto_ms"):
        assert pngcheck.near(img, plot.COLOURS[key]) >= 100, key


def _error(*argv):
    rc, out, err = barenet(*argv)
    assert out == "" and err.count("\n") == 1 and err.startswith("barenet: error: "), err
    return rc, err[len("barenet: error: "):-1]


def test_missing_and_corrupt_inputs_are_one_line(lossy, tmp_path):
    pcap, trace, _ = lossy
    png = str(tmp_path / "x.png")
    missing = str(tmp_path / "nope.pcap")
    assert _error("plot", missing, "-o", png) == (2, "%s: No such file or directory" % missing)
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(os.urandom(64))
    assert _error("plot", str(junk), "-o", png) == (2, "%s: not a pcap file" % junk)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(open(pcap, "rb").read()[:5000])
    assert _error("plot", str(cut), "-o", png) == (2, "%s: a frame is cut short" % cut)
    ng = tmp_path / "x.pcapng"
    ng.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(60))
    rc, msg = _error("plot", str(ng), "-o", png)
    assert rc == 2 and "pcapng" in msg
    bad = tmp_path / "bad.jsonl"
    bad.write_text(open(trace).readline() + "{not json\n")
    assert _error("plot", str(bad), "-o", png) == (2, "%s: line 2 is not a barenet trace line"
                                                  % bad)
    assert not os.path.exists(png)
    nodir = str(tmp_path / "no-such-dir" / "x.png")
    assert _error("plot", pcap, "-o", nodir) == (2, "-o %s: No such file or directory" % nodir)


def test_unknown_connection_and_wrong_kind(lossy, tmp_path):
    pcap, trace, _ = lossy
    png = str(tmp_path / "x.png")
    assert _error("plot", pcap, "-o", png, "--conn", "2") == (
        2, "%s: no connection 2 (it has 1)" % pcap)
    assert _error("plot", trace, "-o", png, "--conn", "7") == (
        2, "%s: no connection 7 (it has 1)" % trace)
    rc, msg = _error("plot", pcap, "-o", png, "--kind", "cwnd")
    assert rc == 2 and "--trace" in msg
    rc, msg = _error("plot", trace, "-o", png, "--kind", "tsg")
    assert rc == 2 and "pcap" in msg
    rc, msg = _error("plot", pcap, "-o", png, "--conn", "0")
    assert rc == 2 and msg.startswith("argument --conn: conn must be an integer")
    empty = tmp_path / "empty.pcap"
    PcapWriter(str(empty)).close()
    assert _error("plot", str(empty), "-o", png) == (2, "%s: no TCP connection in it" % empty)


def test_raw_ip_capture_with_nanosecond_stamps(lossy, tmp_path):
    # Another tool's way of writing the same segments: big-endian, nanosecond stamps
    # (magic 0xa1b23c4d), link type 101 (bare IPv4, as on a TUN): the same flow comes out.
    pcap, _, _ = lossy
    raw = open(pcap, "rb").read()
    out = bytearray(struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 101))
    off = 24
    frames = 0
    while off < len(raw):
        sec, usec, kept, orig = struct.unpack_from("<IIII", raw, off)
        frame = raw[off + 16:off + 16 + kept]
        off += 16 + kept
        if frame[12:14] == b"\x08\x00":
            out += struct.pack(">IIII", sec, usec * 1000, kept - 14, orig - 14) + frame[14:]
            frames += 1
    path = tmp_path / "raw.pcap"
    path.write_bytes(bytes(out))
    with open(pcap, "rb") as f:
        (eth,), _ = tcpflows.flows(f)
    with open(str(path), "rb") as f:
        (ip,), skipped = tcpflows.flows(f)
    assert skipped == 0
    assert [(s.t_us, s.seq, s.ack, s.length) for s in ip.segs] == \
        [(s.t_us, s.seq, s.ack, s.length) for s in eth.segs]


def test_without_matplotlib_says_how_to_install(lossy, tmp_path):
    pcap, _, _ = lossy
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from barenet_host import cli; sys.exit(cli.main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "plot", pcap, "-o", str(tmp_path / "x.png")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == "barenet: error: plot needs matplotlib: pip install 'barenet[plot]' " \
                       "(`make venv` installs it)\n"
