"""`barenet serve --dev SPEC` as a process, without root: a UDP frame link on 127.0.0.1 (the
Wi-Fi boards' tunnel, `udp:ADDR:PORT,ip`) answers a ping sent as one datagram, and --verbose
and --pcap see both frames."""

import os
import select
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
