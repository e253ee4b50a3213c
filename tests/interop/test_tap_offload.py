"""`barenet serve --offload on|off` against the kernel on a TAP (IFF_VNET_HDR, TUNSETOFFLOAD):
byte-exact transfers both ways, the kernel's checksum counters, and what the wire carries."""

import json
import sys

import pytest

# at module level: at run time `conftest` may be another directory's (tests/vboard/)
from conftest import ECHO_CLIENT, Capture, _barenet_cmd

scapy = pytest.importorskip("scapy.all")

MB20 = 20 * 1000 * 1000
ETH_MAX = 1514      # the largest plain frame at MTU 1500


def csum_errors(ns):
    """The namespace's InCsumErrors of TCP and UDP (/proc/net/snmp), and TcpExt's TCPCsumError
    style counters if any: every one must stay 0 when barenet's frames are right."""
    text = ns.run(["cat", "/proc/net/snmp", "/proc/net/netstat"], check=True).stdout
    lines = text.splitlines()
    out = {}
    for head, vals in zip(lines[0::2], lines[1::2]):
        proto = head.split(":")[0]
        for k, v in zip(head.split()[1:], vals.split()[1:]):
            if "Csum" in k:
                out[proto + "." + k] = int(v)
    return out


def counter(summary, layer, name):
    """A counter from serve's stop summary ("...; tcp rx=5 tx=3; ..."), 0 when absent."""
    for part in summary.split("; "):
        words = part.split()
        if words and words[0] == layer:
            for w in words[1:]:
                if w.startswith(name + "="):
                    return int(w.split("=")[1])
    return 0


def barenet_data(cap):
    """(seq, payload length, IP total length) of every TCP data segment barenet sent."""
    out = []
    for data, meta in scapy.RawPcapReader(cap.path):
        if data[12:14] == b"\x08\x00" and data[26:30] == bytes([192, 0, 2, 2]) and data[23] == 6:
            ihl = (data[14] & 15) * 4
            tot = int.from_bytes(data[16:18], "big")
            t = 14 + ihl
            thl = (data[t + 12] >> 4) * 4
            if tot - ihl - thl:
                out.append((int.from_bytes(data[t + 4:t + 8], "big"), tot - ihl - thl, tot))
    return out


def assert_covers(segs, total):
    """(seq, length) segments, retransmissions and all, cover the first total bytes of the
    sequence space from the first one's without a gap."""
    first = segs[0][0]
    edge = 0
    for sq, n in sorted(((sq - first) % 2**32, n) for sq, n in segs):
        assert sq <= edge, "a gap in barenet's sequence space at %d" % edge
        edge = max(edge, sq + n)
    assert edge == total


def frame_lengths(cap):
    """Lengths on the wire of every frame in the capture, per direction (by source IP)."""
    cap.stop()
    out = {"kernel": [], "barenet": []}
    for data, meta in scapy.RawPcapReader(cap.path):
        side = "kernel" if data[26:30] == bytes([192, 0, 2, 1]) else "barenet"
        if data[12:14] == b"\x08\x00":
            out[side].append(meta.wirelen)
    return out


@pytest.mark.root
def test_offload_on_echoes_20_mb_byte_exact_with_super_frames_and_no_checksum_errors(
        serve, kernel, capture):
    srv = serve("--apps", "echo", "--offload", "on")
    assert "offload csum+tso4" in srv.banner
    cap = capture(srv.tap, snaplen=64)
    before = csum_errors(kernel.ns)
    assert before, "no checksum counters found in /proc/net/snmp"
    r = kernel.echo(MB20)
    assert r["ok"] and r["got"] == MB20 and r["sha"] == r["got_sha"], r
    assert csum_errors(kernel.ns) == before
    status, out, _ = srv.stop()
    assert status == 0
    lengths = frame_lengths(cap)
    # The kernel handed barenet super-frames (checksums left to our trust) ...
    assert max(lengths["kernel"]) > ETH_MAX, max(lengths["kernel"])
    # ... which barenet took whole: fewer frames than plain segments would need, none dropped.
    assert counter(out, "ip", "rx") < MB20 // 1448, out
    assert "drop_checksum" not in out and "drop_length" not in out, out
    # barenet's TSO super-segments: within 64 KB, and together they cover the echoed bytes'
    # sequence space without a gap (sequence numbers relative to the first data byte).
    segs = barenet_data(cap)
    assert max(t for _, _, t in segs) <= 65535
    assert max(lengths["barenet"]) > ETH_MAX and counter(out, "tcp", "tx_tso") > 0, out
    assert_covers([(sq, n) for sq, n, _ in segs], MB20)


@pytest.mark.root
def test_offload_off_gives_plain_frames_only(serve, kernel, capture):
    srv = serve("--apps", "echo", "--offload", "off")
    assert "offload" not in srv.banner
    cap = capture(srv.tap, snaplen=64)
    r = kernel.echo(2 * 1000 * 1000)
    assert r["ok"], r
    srv.stop()
    lengths = frame_lengths(cap)
    assert lengths["kernel"] and lengths["barenet"]
    assert max(lengths["kernel"] + lengths["barenet"]) <= ETH_MAX


@pytest.mark.root
def test_offload_on_trusts_the_kernels_partial_udp_checksums(serve, kernel):
    # With TUN_F_CSUM the kernel leaves a local sender's UDP checksum to the receiver
    # (NEEDS_CSUM): verified, every datagram would be dropped as corrupt.
    srv = serve("--udp-echo", "7", "--offload", "on")
    r = kernel.py(
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)\n"
        "s.connect(('192.0.2.2', 7)); got = 0\n"
        "for i in range(20):\n"
        "    s.send(b'u%d' % i * 40)\n"
        "    got += s.recv(2048) == b'u%d' % i * 40\n"
        "print(got)\n")
    assert r.returncode == 0 and r.stdout.strip() == "20", r
    _, out, _ = srv.stop()
    assert counter(out, "udp", "drop_checksum") == 0, out


@pytest.mark.root
def test_offload_on_refused_with_link_middleware(serve, netns):
    r = netns.run(_barenet_cmd() + ["serve", "--tap", "offx0", "--ip", "192.0.2.2/24",
                                    "--offload", "on", "--verbose"])
    assert r.returncode == 2
    assert r.stderr.strip().endswith("--offload on needs --tap, without --faults, --pcap or "
                                     "--verbose (they take plain frames)"), r.stderr


@pytest.mark.root
def test_the_kernel_segments_barenets_super_segments_into_right_frames_when_it_forwards(
        serve, netns, tmp_path):
    # barenet's TSO super-segments go through the kernel's forwarding onto a veth without
    # TSO, GSO or checksum offload, so the kernel cuts them itself (GSO in software) and sums
    # every segment: the capture on that veth is what a wire would carry. The client is a
    # kernel in a second namespace behind the veth.
    from barenet_host.netns import NetNS, unique_name
    va, vb = unique_name("oa"), unique_name("ob")
    with NetNS() as far:
        netns.ip("link", "add", va, "type", "veth", "peer", "name", vb)
        netns.ip("link", "set", vb, "netns", far.name)
        netns.addr(va, "198.51.100.1/24")
        netns.up(va)
        far.addr(vb, "198.51.100.2/24")
        far.up(vb)
        far.ip("route", "add", "192.0.2.0/24", "via", "198.51.100.1")
        netns.sysctl("net.ipv4.ip_forward", 1)
        netns.run(["ethtool", "-K", va, "tx", "off", "tso", "off", "gso", "off"], check=True)
        far.run(["ethtool", "-K", vb, "gro", "off"], check=True)
        srv = serve("--apps", "echo", "--offload", "on", "--gateway", "192.0.2.1")
        cap = Capture(netns, va, str(tmp_path / "veth.pcap"), 1600)
        before = csum_errors(far)
        n = 5 * 1000 * 1000
        r = far.run([sys.executable, "-c", ECHO_CLIENT, "192.0.2.2", "7", str(n), "60"],
                    timeout=90)
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)
        assert rep["ok"] and rep["got"] == n, rep
        assert csum_errors(far) == before
        _, out, _ = srv.stop()
        assert counter(out, "tcp", "tx_tso") > 0, out
        cap.stop()
        segs = []
        for data, meta in scapy.RawPcapReader(cap.path):
            pkt = scapy.Ether(data)
            if scapy.TCP not in pkt or pkt[scapy.IP].src != "192.0.2.2":
                continue        # the far kernel's frames, merged by GRO as they come in
            assert meta.wirelen <= ETH_MAX and meta.caplen == meta.wirelen
            ip, tcp = pkt[scapy.IP], pkt[scapy.TCP]
            # Each segment's checksums, as the kernel summed them, are right
            got = (ip.chksum, tcp.chksum)
            del ip.chksum, tcp.chksum
            again = scapy.Ether(bytes(pkt))
            assert got == (again[scapy.IP].chksum, again[scapy.TCP].chksum)
            if len(tcp.payload):
                segs.append((tcp.seq, len(tcp.payload)))
        # Segment boundaries: no segment beyond the MSS (MTU 1500 - 40); sequence space: the
        # segments cover the echoed bytes without a gap.
        assert len(segs) >= n // 1460 and max(s for _, s in segs) <= 1460
        assert_covers(segs, n)

