"""`barenet plot` on what a real kernel peer exchanged with `barenet serve` over a TAP: tcpdump's
capture on the kernel's side (a pcap another tool wrote, headers only: snaplen 128) and serve's
own `--trace`, both drawn and read back as PNGs."""

import io
import time

import pytest

import pngcheck
from barenet.wire import tcp
from barenet_host import cli, conntrace, plot
from barenet_host.netns import unique_name
from conftest import BARENET_CIDR, _barenet_cmd

pytestmark = [pytest.mark.root, pytest.mark.timeout(120)]

NBYTES = 2 << 20
# The kernel reads NBYTES from barenet's chargen (RFC 864), then closes.
READ_CHARGEN = """
import socket, sys
s = socket.create_connection(("192.0.2.2", 19), timeout=10)
n = 0
while n < %d:
    d = s.recv(65536)
    if not d:
        sys.exit("chargen closed after %%d bytes" %% n)
    n += len(d)
s.close()
print(n)
""" % NBYTES


def _closed_flow(path, server, timeout_s=20):
    """The flow to server once tcpdump (which writes behind the traffic) has the kernel's
    FIN or RST in the file."""
    end = time.monotonic() + timeout_s
    while True:
        try:
            with open(path, "rb") as f:
                flows = [fl for fl in plot.tcpflows.flows(f)[0] if fl.b == server]
        except ValueError:
            flows = []     # the last record is still being written
        if flows and any(s.fwd and s.flags & (tcp.FIN | tcp.RST) for s in flows[0].segs):
            return flows[0]
        assert time.monotonic() < end, "tcpdump never wrote the kernel's close"
        time.sleep(0.1)


def _plot(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["plot"] + list(argv), out=out, err=err)
    assert (rc, err.getvalue()) == (0, ""), err.getvalue()
    return out.getvalue()


def test_plots_of_a_kernel_transfer(serve, kernel, capture, tmp_path):
    trace = str(tmp_path / "serve.jsonl")
    s = serve("--apps", "chargen", "--trace", trace)
    cap = capture(s.tap)
    r = kernel.py(READ_CHARGEN, timeout=60)
    assert r.returncode == 0, r.stderr
    flow = _closed_flow(cap.path, "192.0.2.2:19")
    cap.stop()
    rc, _, err = s.stop()
    assert (rc, err) == (0, "")

    ser = plot.tsg_series(flow)
    # The data direction is barenet's: at least what the kernel read, and the kernel's ACKs.
    assert max(hi for _, _, hi in ser["data"] + ser["retx"]) >= NBYTES
    assert ser["ack"][-1][1] >= NBYTES
    png = str(tmp_path / "tsg.png")
    out = _plot(cap.path, "-o", png)
    assert out.startswith("barenet: wrote %s: 192.0.2.1:" % png)
    img = pngcheck.load(png)
    assert img.shape[:2] == (plot.HEIGHT * plot.DPI, plot.WIDTH * plot.DPI)
    for key in ("data", "ack"):
        assert pngcheck.near(img, plot.COLOURS[key]) >= 100, key

    with open(trace) as f:
        conns = conntrace.load(f)
    (conn,) = [c for c in conns.values() if c["local"] == "192.0.2.2:19"]
    rows = [r for r in conn["rows"] if r["cwnd"] is not None]
    assert (rows[-1]["snd_una"] - rows[0]["snd_una"]) % (1 << 32) >= NBYTES   # followed it all
    assert max(r["cwnd"] for r in rows) > rows[0]["cwnd"]        # slow start grew it
    png = str(tmp_path / "cwnd.png")
    _plot(trace, "-o", png)
    img = pngcheck.load(png)
    for key in ("cwnd", "rto_ms"):
        assert pngcheck.near(img, plot.COLOURS[key]) >= 100, key


def test_serve_trace_to_a_path_it_cannot_write_is_one_line(netns, tmp_path):
    tap = unique_name("s")
    netns.tuntap_add(tap)
    bad = str(tmp_path / "no-such-dir" / "t.jsonl")
    r = netns.run(_barenet_cmd() + ["serve", "--tap", tap, "--ip", BARENET_CIDR, "--trace", bad],
                  timeout=30)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "barenet: error: --trace %s: No such file or directory\n" % bad
