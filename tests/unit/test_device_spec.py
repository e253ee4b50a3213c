"""The one device syntax (host/barenet_host/devices/spec.py): what parses, and the one-line
reasons for what does not."""

import socket

import pytest

from barenet_host.devices import spec as devspec


@pytest.mark.parametrize("text, kind, target, baud, crc, flow, link", [
    ("tap:bn0", "tap", "bn0", None, False, None, "ethernet"),
    ("tun:bt0", "tun", "bt0", None, False, None, "ip"),
    ("serial:/dev/ttyACM0", "serial", "/dev/ttyACM0", 115200, False, None, "ip"),
    ("serial:/dev/ttyUSB1@921600,crc", "serial", "/dev/ttyUSB1", 921600, True, None, "ip"),
    ("serial:loop://", "serial", "loop://", 115200, False, None, "ip"),
    ("serial:socket://127.0.0.1:7000@57600,rtscts", "serial", "socket://127.0.0.1:7000",
     57600, False, "rtscts", "ip"),
    ("serial:rfc2217://localhost:2217,xonxoff,crc", "serial", "rfc2217://localhost:2217",
     115200, True, "xonxoff", "ip"),
    ("pty", "pty", "", None, False, None, "ip"),
    ("pty,crc", "pty", "", None, True, None, "ip"),
    ("unix:/tmp/board.sock", "unix", "/tmp/board.sock", None, False, None, "ip"),
    ("udp:5555", "udp", "5555", None, False, None, "ethernet"),
    ("udp:127.0.0.1:5555,ip", "udp", "127.0.0.1:5555", None, False, None, "ip"),
])
def test_parses(text, kind, target, baud, crc, flow, link):
    s = devspec.parse(text)
    assert (s.kind, s.target, s.baud, s.crc, s.flow, s.link) == (kind, target, baud, crc, flow,
                                                                  link)
    assert s.serial_like == (kind in ("serial", "pty", "unix", "udp"))


def test_mtu_option():
    assert devspec.parse("serial:/dev/ttyS0,mtu=1500").mtu == 1500
    assert devspec.parse("udp:5555,mtu=9000").mtu == 9000


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("eth0", "unknown kind"),
    ("wifi:wlan0", "unknown kind"),
    ("tap:", "needs an interface name"),
    ("serial:", "needs a port"),
    ("serial:/dev/ttyS0@", "missing baud"),
    ("serial:/dev/ttyS0@10", "out of range"),
    ("serial:/dev/ttyS0,crc,", "empty option"),
    ("serial:/dev/ttyS0,rtscts,xonxoff", "choose one"),
    ("serial:/dev/ttyS0,parity", "unknown option"),
    ("serial:/dev/ttyS0,mtu=2000", "at most 1500"),
    ("serial:/dev/ttyS0,mtu=big", "not a number"),
    ("tap:bn0,crc", "does not apply"),
    ("udp:5555,crc", "does not apply"),
    ("pty:/dev/pts/3", "no target"),
    ("unix:", "socket path"),
    ("tap", "needs a target"),
    ("udp:notaport", "expected [ADDR:]PORT"),
    ("udp:70000", "1-65535"),
])
def test_rejects_with_one_line(text, words):
    with pytest.raises(ValueError) as e:
        devspec.parse(text)
    msg = str(e.value)
    assert words in msg and "\n" not in msg


def test_udp_opens_through_the_spec():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    nic = devspec.open_device("udp:127.0.0.1:%d,ip" % port)
    try:
        assert nic.link == "ip" and nic.addr[0] == "127.0.0.1"
    finally:
        nic.close()
