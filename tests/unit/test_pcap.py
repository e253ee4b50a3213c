"""PcapWriter and PcapNIC, checked by an independent reader (scapy's rdpcap) and by the raw bytes."""

import io
import struct

import pytest

from barenet import ticks

from barenet_host.pcap import LINKTYPE_RAW, PcapNIC, PcapWriter, linktype
from peer import ListNIC

scapy = pytest.importorskip("scapy.all")

NEAR_WRAP = ticks.PERIOD - 3000


def ether(i, size=60):
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + bytes([i & 0xFF]) * (size - 14)


def test_global_header_is_classic_pcap_ethernet():
    f = io.BytesIO()
    PcapWriter(f).close()
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", f.getvalue())
    assert (magic, major, minor, zone, sigfigs, snaplen, linktype) == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def test_scapy_reads_frames_and_millisecond_timestamps(tmp_path):
    path = tmp_path / "cap.pcap"
    times = [0, 1, 999, 1000, 61234]
    with PcapWriter(str(path)) as w:
        for i, t in enumerate(times):
            w.write(memoryview(ether(i, 60 + i * 100)), t)
    packets = scapy.rdpcap(str(path))
    assert [bytes(p) for p in packets] == [ether(i, 60 + i * 100) for i in range(len(times))]
    assert [round(float(p.time) * 1000) for p in packets] == times
    assert packets[0].haslayer(scapy.Ether) and packets[0][scapy.Ether].type == 0x0800


def test_timestamps_stay_monotonic_across_the_tick_wrap():
    f = io.BytesIO()
    w = PcapWriter(f)
    for d in (0, 2999, 3000, 3001, 10000):
        w.write(ether(d), ticks.add(NEAR_WRAP, d))
    w.flush()
    f.seek(0)
    stamps = [round(float(p.time) * 1000) for p in scapy.rdpcap(f)]
    assert stamps == [NEAR_WRAP + d for d in (0, 2999, 3000, 3001, 10000)]


def test_snaplen_truncates_but_keeps_the_original_length():
    f = io.BytesIO()
    w = PcapWriter(f, snaplen=64)
    w.write(ether(1, 1514), 0)
    ts_sec, ts_usec, incl, orig = struct.unpack_from("<IIII", f.getvalue(), 24)
    assert (incl, orig) == (64, 1514)
    assert len(f.getvalue()) == 24 + 16 + 64


def test_close_leaves_a_callers_file_open_and_closes_its_own(tmp_path):
    f = io.BytesIO()
    PcapWriter(f).close()
    assert not f.closed
    w = PcapWriter(str(tmp_path / "own.pcap"))
    w.close()
    assert w._f.closed


def test_pcap_nic_records_sent_and_pulled_frames_at_the_step_time():
    f = io.BytesIO()
    inner = ListNIC([ether(2), ether(3)], fd=7)
    nic = PcapNIC(inner, PcapWriter(f))
    assert nic.poll(NEAR_WRAP) is None        # the loop step tells the time first
    nic.send(memoryview(ether(1)))
    nic.poll(ticks.add(NEAR_WRAP, 5000))
    buf = bytearray(1600)
    assert nic.recv_into(buf) == 60
    nic.poll(ticks.add(NEAR_WRAP, 6000))
    assert nic.recv_into(buf) == 60
    assert nic.recv_into(buf) == 0  # nothing read, nothing recorded
    assert inner.sent == [ether(1)]
    assert nic.fileno() == 7
    f.seek(0)
    packets = scapy.rdpcap(f)
    assert [bytes(p) for p in packets] == [ether(1), ether(2), ether(3)]
    assert [round(float(p.time) * 1000) - NEAR_WRAP for p in packets] == [0, 5000, 6000]


def test_ip_links_are_captured_as_raw_ip_and_scapy_reads_them(tmp_path):
    datagram = bytes(scapy.IP(src="192.0.2.1", dst="192.0.2.2") / scapy.UDP(sport=1, dport=7) / b"x")
    inner = ListNIC([datagram])
    inner.link = "ip"
    assert linktype(inner) == LINKTYPE_RAW == 101
    assert linktype(ListNIC()) == 1             # no link fact: Ethernet (nic.py)
    path = str(tmp_path / "raw.pcap")
    writer = PcapWriter(path, linktype=linktype(inner))
    nic = PcapNIC(inner, writer, flush=True)
    nic.poll(0)
    assert nic.recv_into(bytearray(1500)) == len(datagram)
    # flushed: the record is in the file while the writer is still open
    packets = scapy.rdpcap(path)
    assert len(packets) == 1 and isinstance(packets[0], scapy.IP)
    assert bytes(packets[0]) == datagram and packets[0][scapy.UDP].dport == 7
    writer.close()


def test_without_flush_records_wait_in_the_files_buffer(tmp_path):
    path = tmp_path / "buffered.pcap"
    writer = PcapWriter(str(path))
    nic = PcapNIC(ListNIC(), writer)
    nic.poll(0)
    nic.send(ether(1))
    assert path.stat().st_size == 0
    writer.close()
    assert path.stat().st_size == 24 + 16 + 60


def test_a_frame_sent_before_the_first_step_is_stamped_with_its_time():
    # Stack.add_interface announces the address (gratuitous ARP) before the loop's first step.
    f = io.BytesIO()
    inner = ListNIC()
    nic = PcapNIC(inner, PcapWriter(f))
    nic.send(memoryview(ether(1)))
    assert inner.sent == [ether(1)]            # on the wire at once; recorded at the step
    nic.poll(NEAR_WRAP)
    nic.poll(ticks.add(NEAR_WRAP, 40))
    nic.send(ether(2))
    f.seek(0)
    packets = scapy.rdpcap(f)
    assert [bytes(p) for p in packets] == [ether(1), ether(2)]
    assert [round(float(p.time) * 1000) - NEAR_WRAP for p in packets] == [0, 40]
