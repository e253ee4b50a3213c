"""`barenet serve --dev SPEC` as a process, without root: a UDP frame link on 127.0.0.1 (the
Wi-Fi boards' tunnel, `udp:ADDR:PORT,ip`) answers a ping sent as one datagram, and --verbose
and --pcap see both frames; SLIP over a pty carries `barenet run --dev serial:/dev/pts/N`'s TCP
and UDP echoes, and its raw-IP capture decodes in tshark and scapy with the device's counts."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys

import pytest

scapy = pytest.importorskip("scapy.all")

PING = bytes(scapy.IP(src="192.0.2.1", dst="192.0.2.2") / scapy.ICMP(id=7, seq=1) / b"hi")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def barenet_cmd():
    script = os.path.join(os.path.dirname(sys.executable), "barenet")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "barenet_host.cli"]


def start_serve(argv):
    proc = subprocess.Popen(barenet_cmd() + ["serve"] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    return proc, proc.stdout.readline() if ready else ""


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=20)


def test_serve_on_a_udp_ip_link_answers_a_ping(tmp_path):
    port = free_udp_port()
    pcap = str(tmp_path / "udp.pcap")
    spec = "udp:127.0.0.1:%d,ip" % port
    proc = subprocess.Popen(barenet_cmd() + ["serve", "--dev", spec, "--ip", "192.0.2.2/24",
                                             "--verbose", "--pcap", pcap,
                                             "--ctl", str(tmp_path / "c.sock")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        banner = proc.stdout.readline() if ready else ""
        assert banner == "barenet: serving 192.0.2.2/24 on %s, mtu 1500, pcap %s, verbose, " \
                         "control %s\n" % (spec, pcap, tmp_path / "c.sock"), banner
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as board:
            board.bind(("127.0.0.1", 0))
            board.settimeout(10)
            board.sendto(PING, ("127.0.0.1", port))
            reply, _ = board.recvfrom(2048)
        pkt = scapy.IP(reply)
        assert (pkt[scapy.ICMP].type, pkt[scapy.ICMP].id, pkt.dst) == (0, 7, "192.0.2.1")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert (proc.returncode, err) == (0, "")
    lines = out.splitlines()
    assert [ln.split(" ", 1)[1] for ln in lines[:2]] == [
        "In  IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 7, seq 1, length 10",
        "Out IP 192.0.2.2 > 192.0.2.1: ICMP echo reply, id 7, seq 1, length 10"]
    assert lines[2].startswith("barenet: stopped: udp rx 1 tx 1 dropped 0;"), lines
    assert [bytes(p) for p in scapy.rdpcap(pcap)] == [PING, reply]


# Run by `barenet run` on the other end of the pty: a TCP echo of argv[1] bytes, a UDP echo.
CLIENT = """
import socket, sys
n = int(sys.argv[1])
data = bytes(i * 7 & 0xFF for i in range(n))
s = socket.create_connection(("192.0.2.2", 7), timeout=20)
s.sendall(data)
got = b""
while len(got) < n:
    d = s.recv(65536)
    if not d:
        break
    got += d
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(10)
u.sendto(b"hello", ("192.0.2.2", 7))
print(got == data, u.recvfrom(100)[0])
"""


def test_serve_on_a_pty_carries_slip_and_its_capture_decodes(tmp_path):
    if shutil.which("tshark") is None:
        pytest.fail("tshark is missing: install it (make sysdeps)")
    pcap = str(tmp_path / "slip.pcap")
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    proc, banner = start_serve(["--dev", "pty", "--ip", "192.0.2.2/24", "--apps", "echo",
                                "--udp-echo", "7", "--pcap", pcap,
                                "--ctl", str(tmp_path / "c.sock")])
    try:
        m = re.match(r"barenet: serving 192\.0\.2\.2/24 on pty at (/dev/pts/\d+), mtu 1006, ",
                     banner)
        assert m, banner
        r = subprocess.run(barenet_cmd() + ["run", "--dev", "serial:" + m.group(1), "--ip",
                                            "192.0.2.1/24", str(client), "50000"],
                           capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (0, "True b'hello'\n"), r.stderr
        assert "(192.0.2.1/24 on serial:%s)" % m.group(1) in r.stderr
    finally:
        out, err = stop(proc)
    assert (proc.returncode, err) == (0, ""), err
    counts = re.search(r"stopped: pty rx (\d+) tx (\d+) dropped 0;", out)
    assert counts, out
    frames = int(counts.group(1)) + int(counts.group(2))
    t = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.protocols"],
                       capture_output=True, text=True, timeout=60)
    protos = t.stdout.split()
    assert len(protos) == frames > 2 * 50000 // 1006
    assert protos.count("raw:ip:udp:echo") == 2
    assert all(p.startswith("raw:ip:tcp") or p == "raw:ip:udp:echo" for p in protos), protos
    packets = scapy.rdpcap(pcap)
    assert len(packets) == frames and all(isinstance(p, scapy.IP) for p in packets)
    # the client's bytes, by sequence number (a retransmission would only repeat one)
    sent = [p[scapy.TCP] for p in packets if p.haslayer(scapy.TCP) and p[scapy.TCP].dport == 7]
    segments = dict(((t.seq - sent[0].seq) & 0xFFFFFFFF, bytes(t.payload)) for t in sent)
    payload = b"".join(segments[k] for k in sorted(segments))
    assert payload == bytes(i * 7 & 0xFF for i in range(50000))


@pytest.mark.parametrize("spec, limit", [("pty", 1006), ("pty,mtu=1200", 1200)])
def test_an_mtu_beyond_the_slip_device_s_is_one_line_and_closes_the_device(spec, limit):
    """RFC 1055 SLIP has no MTU negotiation: a larger --mtu than the line's would send frames
    the far decoder drops. It is refused before anything is sent, and the pty is closed."""
    import io
    from barenet_host import cli
    fds = len(os.listdir("/proc/self/fd"))
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(["serve", "--dev", spec, "--ip", "192.0.2.2/24", "--mtu", "1500"], out, err)
    assert rc == 2 and out.getvalue() == ""
    assert err.getvalue() == ("barenet: error: --mtu 1500 is more than the pty device's MTU %d: "
                              "raise the device's with mtu=1500 in its spec\n" % limit)
    assert len(os.listdir("/proc/self/fd")) == fds


def test_ctl_dev_pty_finds_a_running_pty_serve_without_its_path():
    """serve --dev pty names its control socket after its pid; ctl --dev pty finds it."""
    import json
    proc, banner = start_serve(["--dev", "pty", "--ip", "192.0.2.2/24"])
    try:
        assert banner.startswith("barenet: serving 192.0.2.2/24 on pty at "), banner
        assert banner.rstrip().endswith("pty-%d.sock" % proc.pid), banner
        r = subprocess.run(barenet_cmd() + ["ctl", "stats", "--dev", "pty", "--json"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["serve"]["pid"] == proc.pid
    finally:
        stop(proc)
