"""`barenet serve`'s link options against the kernel in a namespace: --pcap on TAP (Ethernet)
and TUN (raw IP) decoded by tshark and scapy, one record per frame the device counted and
readable while serve runs; --faults still echoing byte-exact; --verbose's per-frame lines."""

import re
import shutil
import signal
import subprocess

import pytest

pytestmark = pytest.mark.root

scapy = pytest.importorskip("scapy.all")


def tshark_protocols(path):
    """tshark's protocol stack of every packet in the capture, e.g. ['eth:ethertype:arp', ...]."""
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: install it (make sysdeps)")
    r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.protocols"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def device_counts(stopped_line, kind):
    m = re.search(r"stopped: %s rx (\d+) tx (\d+) dropped 0;" % kind, stopped_line)
    assert m, stopped_line
    return int(m.group(1)), int(m.group(2))


def exchange(kernel):
    """A few pings and a TCP echo: ICMP and TCP both ways."""
    r = kernel.ping("-c", 3, "-i", 0.2, "-W", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    echo = kernel.echo(20000)
    assert echo["ok"], echo


# A raw-IP record is IPv4 or (the kernel's own router solicitations, MLD) IPv6.
@pytest.mark.parametrize("mode, first, link_layers", [
    ("tap", "eth:ethertype", (scapy.Ether,)),
    ("tun", "raw", (scapy.IP, scapy.IPv6)),
])
def test_pcap_decodes_in_tshark_and_scapy_with_the_devices_counts(serve, kernel, tmp_path,
                                                                   mode, first, link_layers):
    path = str(tmp_path / ("%s.pcap" % mode))
    s = serve("--apps", "echo", "--pcap", path, mode=mode)
    assert ", pcap %s, control " % path in s.banner
    exchange(kernel)
    # flushed per frame: the capture is whole while serve still runs
    live = tshark_protocols(path)
    assert sum(p == first + ":ip:icmp:data" for p in live) == 6, live
    rc, out, err = s.stop()
    assert (rc, err) == (0, "")
    rx, tx = device_counts(out, mode)
    assert "; pcap frames=%d;" % (rx + tx) in out
    protos = tshark_protocols(path)
    assert len(protos) == rx + tx
    assert all(p.startswith(first + ":") for p in protos), protos
    assert sum(p == first + ":ip:icmp:data" for p in protos) == 6
    assert sum(p.startswith(first + ":ip:tcp") for p in protos) >= 10
    if mode == "tap":
        assert "eth:ethertype:arp" in protos
    packets = scapy.rdpcap(path)
    assert len(packets) == rx + tx
    assert all(isinstance(p, link_layers) for p in packets), [p.summary() for p in packets]
    echoes = [p for p in packets if p.haslayer(scapy.ICMP)]
    assert [p[scapy.ICMP].type for p in echoes] == [8, 0] * 3
    assert {p[scapy.IP].src for p in echoes} == {"192.0.2.1", "192.0.2.2"}


def test_lossy_serve_still_echoes_byte_exact(serve, kernel):
    s = serve("--apps", "echo", "--faults",
              "loss=0.05,dup=0.01,reorder=0.02,corrupt=0.01,delay=5ms,seed=3", mode="tun")
    assert ", faults loss=0.05,dup=0.01,reorder=0.02,corrupt=0.01,delay=5ms,seed=3, " in s.banner
    echo = kernel.echo(256 << 10, limit_s=90)
    assert echo["ok"] and echo["got"] == 256 << 10, echo
    rc, out, err = s.stop()
    assert (rc, err) == (0, "")
    # the faults really hit the connection: frames lost both ways, and barenet retransmitted
    assert re.search(r"; faults_out (\w+=\d+ )*dropped=[1-9]", out), out
    assert re.search(r"; faults_in (\w+=\d+ )*dropped=[1-9]", out), out
    assert re.search(r"\b(fast_retransmit|rto|tlp)=\d+", out), out


def test_verbose_prints_one_line_per_frame(serve, kernel):
    s = serve("--verbose")
    assert ", verbose, control " in s.banner
    r = kernel.ping("-c", 2, "-i", 0.2, "-W", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    rc, out, err = s.stop(signal.SIGINT)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    rx, tx = device_counts(lines[-1], "tap")
    frames = lines[:-1]
    assert len(frames) == rx + tx
    assert all(re.match(r"\d+\.\d{3} (In |Out) ", ln) for ln in frames), frames
    # the interface's announcement, sent as it came up, opens the log
    assert frames[0] == "0.000 Out ARP, Request who-has 192.0.2.2 tell 192.0.2.2, length 28"
    text = "\n".join(ln.split(" ", 1)[1] for ln in frames)
    assert "In  ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28" in text
    assert "Out ARP, Reply 192.0.2.2 is-at 02:00:c0:00:02:02, length 28" in text
    for seq in (1, 2):
        assert re.search(r"In  IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request, id \d+, "
                         r"seq %d, length 64" % seq, text), text
        assert re.search(r"Out IP 192\.0\.2\.2 > 192\.0\.2\.1: ICMP echo reply, id \d+, "
                         r"seq %d, length 64" % seq, text), text
