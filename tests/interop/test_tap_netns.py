"""The harness itself: TapDevice and the netns helpers, checked against the kernel directly."""

import errno
import os
import select
import struct
import sys

import pytest

from barenet_host.netns import NetNS, check_cidr, unique_name
from barenet_host.devices.tap import TapDevice
from barenet_host.devices.tuntap import check_name


def read_frame(tap, want, timeout_s=5):
    """The first frame for which want(frame) is true, read from the TAP fd within timeout_s."""
    buf = bytearray(1514)
    for _ in range(100):  # bounded: IPv6 neighbour discovery may come first
        ready, _, _ = select.select([tap], [], [], timeout_s)
        if not ready:
            return None
        n = tap.recv_into(buf)
        if n and want(buf[:n]):
            return bytes(buf[:n])
    return None


@pytest.mark.root
def test_kernel_in_namespace_sends_arp_request_to_the_tap_fd(tap_ns):
    ping = tap_ns.ns.popen(["ping", "-c", "1", "-W", "1", "192.0.2.2"])
    try:
        frame = read_frame(tap_ns.tap, lambda f: f[12:14] == b"\x08\x06")
    finally:
        ping.wait(timeout=10)
    assert frame is not None
    # RFC 826: broadcast who-has 192.0.2.2 tell 192.0.2.1
    oper, = struct.unpack_from("!H", frame, 20)
    assert frame[:6] == b"\xff" * 6 and oper == 1
    assert frame[28:32] == bytes([192, 0, 2, 1]) and frame[38:42] == bytes([192, 0, 2, 2])


@pytest.mark.root
def test_frames_written_to_the_tap_reach_the_kernel(tap_ns):
    # A gratuitous ARP reply written as a memoryview: the kernel must add a neighbour entry.
    mac = b"\x02\x00\x00\x00\x00\x99"
    arp = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)
           + mac + bytes([192, 0, 2, 9]) + b"\xff" * 6 + bytes([192, 0, 2, 9]))
    tap_ns.ns.sysctl("net.ipv4.conf.%s.arp_accept" % tap_ns.name, 1)
    tap_ns.tap.send(memoryview(arp))
    assert tap_ns.tap.stats["tx"] == 1
    neigh = ""
    for _ in range(50):  # the kernel processes the frame asynchronously; poll ip neigh briefly
        neigh = tap_ns.ns.ip("neigh", "show", "192.0.2.9").stdout
        if "02:00:00:00:00:99" in neigh:
            break
        select.select([], [], [], 0.02)
    assert "lladdr 02:00:00:00:00:99" in neigh


@pytest.mark.root
def test_recv_into_returns_zero_when_nothing_waits(tap_ns):
    tap_ns.ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap_ns.name, 1)
    buf = bytearray(1514)
    while tap_ns.tap.recv_into(buf):  # drain whatever the link-up produced
        pass
    assert tap_ns.tap.recv_into(buf) == 0


def _queue_udp(tap_ns, payloads):
    """Have the kernel queue one UDP datagram per payload on the TAP, to a neighbour that
    needs no ARP, and wait until the first is readable."""
    tap_ns.ns.ip("neigh", "replace", "192.0.2.9", "lladdr", "02:00:00:00:00:99", "dev",
                 tap_ns.name, "nud", "permanent")
    src = ("import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
           "for p in sys.argv[1:]:\n    s.sendto(p.encode(), ('192.0.2.9', 9))\n")
    r = tap_ns.ns.run([sys.executable, "-c", src] + payloads, timeout=20)
    assert r.returncode == 0, r.stderr
    assert select.select([tap_ns.tap], [], [], 5)[0]


@pytest.mark.root
@pytest.mark.parametrize("n", [1, 2, 5])
def test_recv_into_reads_each_frame_and_one_alone_costs_no_empty_read(tap_ns, monkeypatch, n):
    # After the first frame of a wake, poll(0) asks whether another waits: a single frame
    # (an echo, a ping) costs one read, not a second one that fails with EAGAIN; a burst is
    # read on until a read finds nothing. Every frame arrives once, in order, either way.
    tap_ns.ns.sysctl("net.ipv6.conf.%s.disable_ipv6" % tap_ns.name, 1)
    buf = bytearray(1514)
    while tap_ns.tap.recv_into(buf):
        pass
    reads = []
    real = os.readv

    def counted(fd, bufs):
        reads.append(fd)
        return real(fd, bufs)

    monkeypatch.setattr(os, "readv", counted)
    want = ["m%d" % i for i in range(n)]
    _queue_udp(tap_ns, want)
    got = []
    while True:
        k = tap_ns.tap.recv_into(buf)
        if not k:
            break
        if buf[12:14] == b"\x08\x00" and buf[23] == 17:
            got.append(bytes(buf[42:k]).decode())
    assert got == want
    assert len(reads) == (1 if n == 1 else n + 1)
    assert tap_ns.tap.recv_into(buf) == 0


@pytest.mark.root
def test_attach_only_refuses_a_missing_device(netns):
    name = unique_name("m")
    r = netns.run([sys.executable, "-c", "from barenet_host.devices.tap import TapDevice\n"
                   "try:\n TapDevice(%r, create=False)\nexcept OSError as e:\n print(e.errno, e.strerror)"
                   % name])
    assert r.stdout.startswith("%d cannot open TAP %r: no such device" % (errno.ENODEV, name)), r


@pytest.mark.root
def test_attach_to_tuntap_device_inside_namespace(netns):
    name = unique_name("a")
    netns.tuntap_add(name)
    r = netns.run([sys.executable, "-c",
                   "from barenet_host.devices.tap import TapDevice\n"
                   "t = TapDevice(%r, create=False)\nprint(t.created, t.fileno() >= 0)\nt.close()"
                   % name])
    assert r.stdout.split() == ["False", "True"], r


def test_tap_name_rules():
    for bad in ("", "x" * 16, "a/b", "a b", "a:b", ".", ".."):
        with pytest.raises(OSError) as e:
            check_name(bad)
        assert e.value.errno == errno.EINVAL
    assert check_name("x" * 15) == b"x" * 15
    with pytest.raises(OSError):
        TapDevice("a/b")


def test_unique_names_fit_a_device_name():
    names = {unique_name("t") for _ in range(1000)}
    assert len(names) == 1000
    assert all(n.startswith("bn%d" % os.getpid()) and len(n) <= 15 for n in names)


def test_only_documentation_and_loopback_addresses_are_allowed():
    for ok in ("192.0.2.1/24", "198.51.100.7/24", "203.0.113.9/25", "127.0.0.2/8"):
        assert check_cidr(ok) == ok
    for bad in ("10.0.0.1/24", "192.0.2.1/16", "192.168.1.1/24", "8.8.8.8/32"):
        with pytest.raises(ValueError):
            check_cidr(bad)


@pytest.mark.root
def test_namespace_is_deleted_even_after_an_exception():
    with pytest.raises(RuntimeError):
        with NetNS() as ns:
            name = ns.name
            raise RuntimeError("test body failed")
    assert not os.path.exists("/run/netns/" + name)
