"""SLIP NICs on real byte streams (devices/slipnic.py, serial.py, pty.py, unix.py): two barenet
stacks on the two ends of a pty, one on `pty` and one on `serial:/dev/pts/N` through pyserial,
ping and move 1 MB over TCP byte-exact, with and without the CRC trailer; a port that vanishes
and comes back (a pty re-made behind the same symlink) is one line each way and TCP resumes;
pyserial's loop:// carries frames; a missing or busy port is one line; the unix socket kind
takes one peer at a time."""

import os
import select
import socket

import pytest

from barenet.wire import slip
from barenet_host.devices import spec as devspec
from barenet_host.devices.slipnic import TX_LIMIT
from slipstacks import Stacks, Transfer, megabyte

A, B = "192.0.2.1", "192.0.2.2"


@pytest.fixture
def lines():
    return []


def pty_pair(opts, lines):
    board = devspec.open_device("pty" + opts, log=lines.append)
    host = devspec.open_device("serial:%s@921600%s" % (board.path, opts), log=lines.append)
    return board, host


@pytest.mark.timeout(120)
@pytest.mark.parametrize("opts", ["", ",crc"])
def test_two_stacks_over_a_pty_ping_and_move_a_megabyte(opts, lines):
    board, host = pty_pair(opts, lines)
    try:
        assert board.mtu == host.mtu == 1006 and host.link == "ip"
        s = Stacks()
        sa, _ = s.add(board, A + "/24")
        sb, _ = s.add(host, B + "/24")
        # 1000 and 3000 bytes: fragmented to the 1006-byte SLIP MTU and reassembled both ways
        assert s.ping(sb, A, (56, 1000, 3000)) == [(A, 0, 56), (A, 1, 1000), (A, 2, 3000)]
        t = Transfer(sa, sb, B, megabyte())
        s.loops[0].add_task(t.task)
        assert s.run(lambda: t.done, timeout_s=90), (len(t.got), board.stats, host.stats)
        assert t.exact()
        segments = len(t.data) // (1006 - 40)
        assert host.stats["rx"] > segments and board.stats["tx"] > segments
        # nothing was lost on the line; a sender ahead of the pty's buffer may have had
        # frames refused at TX_LIMIT (drop_tx_full), which TCP retransmitted
        for nic in (board, host):
            assert not {k: v for k, v in nic.stats.items() if k.startswith("drop") and v
                        and k not in ("drop_tx_full",)}
        assert sa.stats["ip"].get("reasm_ok") == 2 and sb.stats["ip"].get("reasm_ok") == 2
        assert lines == []
    finally:
        board.close()
        host.close()


def test_a_crc_link_drops_frames_from_a_peer_without_crc(lines):
    board = devspec.open_device("pty", log=lines.append)
    host = devspec.open_device("serial:%s,crc" % board.path, log=lines.append)
    try:
        board.send(bytes(range(40)))
        assert select.select([host.fileno()], [], [], 2)[0]
        assert host.recv_into(bytearray(1600)) == 0
        assert host.stats["drop_crc"] == 1
    finally:
        board.close()
        host.close()


@pytest.mark.timeout(120)
def test_a_port_that_vanishes_and_comes_back_is_one_line_each_way_and_tcp_resumes(
        tmp_path, lines):
    port = str(tmp_path / "ttyACM0")            # what udev's by-id symlink would be
    board = devspec.open_device("pty,crc", log=lines.append)
    os.symlink(board.path, port)
    host = devspec.open_device("serial:%s,crc" % port, log=lines.append)
    new = None
    try:
        s = Stacks()
        sa, ia = s.add(board, A + "/24")
        sb, _ = s.add(host, B + "/24")
        t = Transfer(sa, sb, B, megabyte(b"replug"))
        s.loops[0].add_task(t.task)
        assert s.run(lambda: len(t.got) > 200000, timeout_s=60)
        # unplugged: the board's end of the line goes (its pty closes) and a new one appears
        # under the same name a moment later; the board's stack keeps running throughout
        board.close()
        new = devspec.open_device("pty,crc", log=lines.append)
        ia.nic = new
        assert s.run(lambda: not sb.interfaces[0].link_up, timeout_s=10)   # told the stack
        down_at = len(t.got)
        assert not s.run(lambda: len(t.got) > down_at, timeout_s=0.6)   # nothing while gone
        os.symlink(new.path, port + ".new")
        os.replace(port + ".new", port)
        assert s.run(lambda: t.done, timeout_s=90), (len(t.got), host.stats)
        assert t.exact()
        assert host.link_up and sb.interfaces[0].link_up
        assert len(lines) == 2, lines        # pyserial's reason in the brackets
        assert lines[0].startswith("serial %s lost (" % port)
        assert lines[0].endswith("); waiting for it to come back")
        assert lines[1] == "serial %s is back" % port
    finally:
        host.close()
        board.close()
        if new is not None:
            new.close()


def test_loop_url_carries_frames_back_to_the_sender(lines):
    nic = devspec.open_device("serial:loop://,crc", log=lines.append)
    try:
        assert nic.transport.fileno() is None
        # no fd: the runner selects on a pipe that never wakes, and poll() asks for a step soon
        assert not select.select([nic.fileno()], [], [], 0)[0]
        assert nic.poll(0) == 2
        frames = [bytes([i]) * (300 + 140 * i) + b"\xc0\xdb" for i in range(6)]  # 1004 max
        for f in frames:
            nic.send(f)
        got = []
        buf = bytearray(1600)
        for now in range(100):
            nic.poll(now)
            n = nic.recv_into(buf)
            if n:
                got.append(bytes(buf[:n]))
        assert got == frames and nic.stats["rx"] == 6
    finally:
        nic.close()


def test_output_the_port_does_not_take_is_bounded_and_counted(lines):
    board = devspec.open_device("pty", log=lines.append)     # nobody reads the slave
    try:
        frame = bytes(1006)
        sent = 0
        while board.stats["drop_tx_full"] == 0:
            board.send(frame)
            sent += 1
            assert sent < 10000
        assert len(board._out) <= TX_LIMIT
        assert board.stats["tx"] == sent - 1
        assert board.poll(0) == 1         # output waiting: the runner comes back soon
    finally:
        board.close()


def test_a_missing_port_is_one_line():
    with pytest.raises(OSError) as e:
        devspec.open_device("serial:/dev/ttyBN404")
    msg = str(e.value)
    assert "\n" not in msg and "'/dev/ttyBN404'" in msg and "no such device" in msg


def test_a_port_in_use_is_one_line(lines):
    board = devspec.open_device("pty", log=lines.append)
    first = devspec.open_device("serial:" + board.path, log=lines.append)
    try:
        with pytest.raises(OSError) as e:
            devspec.open_device("serial:" + board.path)
        msg = str(e.value)
        assert "\n" not in msg and "in use by another program" in msg
    finally:
        first.close()
        board.close()


def test_an_unknown_url_is_one_line():
    with pytest.raises(ValueError) as e:
        devspec.open_device("serial:nosuch://x")
    assert "\n" not in str(e.value) and "nosuch" in str(e.value)


def _recv(nic, timeout_s=2):
    buf = bytearray(1600)
    for _ in range(50):
        nic.poll(0)
        n = nic.recv_into(buf)
        if n or not nic.link_up:
            return bytes(buf[:n])
        select.select([nic.fileno()], [], [], timeout_s / 50)
    return b""


def test_unix_socket_kind_listens_and_takes_one_peer_at_a_time(tmp_path, lines):
    path = str(tmp_path / "board.sock")
    open(path, "w").close()
    with pytest.raises(OSError, match="cannot listen"):
        devspec.open_device("unix:" + path)       # a regular file is not replaced
    os.unlink(path)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()                                  # a stale socket file is
    nic = devspec.open_device("unix:%s,crc" % path, log=lines.append)
    try:
        assert not nic.link_up
        nic.send(b"x" * 40)
        assert nic.stats["drop_link_down"] == 1
        for n in range(2):
            peer = socket.socket(socket.AF_UNIX)
            peer.connect(path)
            assert select.select([nic.fileno()], [], [], 2)[0]   # the connect wakes it
            nic.poll(0)
            assert nic.link_up
            peer.sendall(slip.encode(b"from peer %d" % n + bytes(30), slip.fcs16))
            assert _recv(nic) == b"from peer %d" % n + bytes(30)
            nic.send(b"to peer" + bytes(30))
            assert slip.Decoder(crc=slip.fcs16).feed(peer.recv(4096)) == [b"to peer" + bytes(30)]
            peer.close()
            assert _recv(nic) == b"" and not nic.link_up
        assert lines == ["unix %s is up" % path,
                         "unix %s lost (the peer closed the connection); waiting for it to "
                         "come back" % path,
                         "unix %s is back" % path,
                         "unix %s lost (the peer closed the connection); waiting for it to "
                         "come back" % path]
    finally:
        nic.close()
    assert not os.path.exists(path)
