"""The link options every device command shares (host/barenet_host/linkopts.py): parsing, the
order of the middleware and so what the capture and the log see."""

import io

import pytest

from barenet_host import cliargs, linkopts
from barenet_host.faults import FaultyNIC
from barenet_host.pcap import PcapNIC
from barenet_host.trace import TraceNIC
from peer import ListNIC

scapy = pytest.importorskip("scapy.all")

PING = bytes(scapy.IP(src="192.0.2.1", dst="192.0.2.2") / scapy.ICMP(id=1, seq=1))
REPLY = bytes(scapy.IP(src="192.0.2.2", dst="192.0.2.1") / scapy.ICMP(type=0, id=1, seq=1))


def parse(*argv):
    p = cliargs.Parser(prog="barenet")
    linkopts.add_arguments(p)
    return p.parse_args(list(argv))


def ip_nic(frames=()):
    nic = ListNIC(frames)
    nic.link = "ip"
    return nic


def test_no_options_no_middleware():
    args = parse()
    dev = ListNIC()
    assert linkopts.wrap(dev, args, io.StringIO()) is dev
    assert linkopts.describe(args) == ""


def test_the_stack_sees_trace_then_pcap_then_faults_then_the_device(tmp_path):
    args = parse("--faults", "loss=0.1,seed=9", "--pcap", str(tmp_path / "x.pcap"), "-v")
    dev = ListNIC()
    nic = linkopts.wrap(dev, args, io.StringIO())
    assert type(nic) is TraceNIC and type(nic.nic) is PcapNIC and type(nic.nic.nic) is FaultyNIC
    assert nic.nic.nic.nic is dev and nic.fileno() == dev.fileno()
    faulty = nic.nic.nic
    assert faulty.tx_faults.loss == faulty.rx_faults.loss == 0.1
    # the directions draw apart: one seed each
    assert faulty.tx_faults._x != faulty.rx_faults._x
    assert linkopts.describe(args) == ", faults loss=0.1,seed=9, pcap %s, verbose" % (
        tmp_path / "x.pcap")
    linkopts.close(nic)


def test_capture_and_log_show_what_barenet_sent_and_received(tmp_path):
    # loss=1: nothing crosses the fault model. The stack's reply is captured and logged (it
    # sent it); the datagram lost on the way in never reached the stack and is in neither.
    path = str(tmp_path / "lossy.pcap")
    out = io.StringIO()
    dev = ip_nic([PING])
    nic = linkopts.wrap(dev, parse("--faults", "loss=1", "--pcap", path, "--verbose"), out)
    nic.poll(1000)
    assert nic.recv_into(bytearray(1500)) == 0
    nic.send(REPLY)
    nic.poll(1001)
    assert dev.sent == [] and dev.waiting == []
    packets = scapy.rdpcap(path)                  # flushed per frame, before close
    assert [bytes(p) for p in packets] == [REPLY] and isinstance(packets[0], scapy.IP)
    assert out.getvalue() == "0.000 Out IP 192.0.2.2 > 192.0.2.1: ICMP echo reply, id 1, " \
                             "seq 1, length 8\n"
    assert linkopts.stats(nic) == {
        "faults_out": {"sent": 1, "dropped": 1, "duplicated": 0, "corrupted": 0, "reordered": 0,
                       "queue_dropped": 0},
        "faults_in": {"sent": 1, "dropped": 1, "duplicated": 0, "corrupted": 0, "reordered": 0,
                      "queue_dropped": 0},
        "pcap": {"frames": 1}}
    assert linkopts.stats(dev) == {}
    linkopts.close(nic)
    assert nic.nic.writer._f.closed


def test_pcap_file_that_cannot_be_made_is_a_one_line_usage_error(tmp_path):
    args = parse("--pcap", str(tmp_path / "no" / "such" / "dir.pcap"))
    with pytest.raises(cliargs.UsageError) as e:
        linkopts.wrap(ListNIC(), args, io.StringIO())
    assert str(e.value) == "--pcap %s: No such file or directory" % (tmp_path / "no/such/dir.pcap")


@pytest.mark.parametrize("argv, words", [
    (["--faults", "loss=2"], "argument --faults: faults 'loss=2': loss must be a probability 0..1"),
    (["--faults", "drop=0.1"], "unknown item 'drop=0.1'"),
    (["--faults"], "argument --faults: expected one argument"),
    (["--pcap"], "argument --pcap: expected one argument"),
])
def test_bad_options_are_one_line(argv, words):
    with pytest.raises(cliargs.UsageError) as e:
        parse(*argv)
    assert words in str(e.value) and "\n" not in str(e.value)
