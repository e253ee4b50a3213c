"""SLIP NICs on real byte streams (devices/slipnic.py, serial.py, pty.py, unix.py): two barenet
stacks on the two ends of a pty, one on `pty` and one on `serial:/dev/pts/N` through pyserial,
ping and move 1 MB over TCP byte-exact, with and without the CRC trailer; a port that vanishes
and comes back (a pty re-made behind the same symlink) is one line each way and TCP resumes;
pyserial's loop:// carries frames; a missing or busy port is one line; the unix socket kind
takes one peer at a time."""

import os
import select
import socket
import subprocess

import pytest

from barenet.wire import slip
from barenet_host.devices import spec as devspec
from barenet.slipline import TX_LIMIT
from barenet_host.devices.slipnic import TX_RETRY_MAX_MS
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
        assert lines == ["serial %s lost (disconnected); waiting for it to come back" % port,
                         "serial %s is back" % port]
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
        assert len(board.line.out) <= TX_LIMIT
        assert board.stats["tx"] == sent - 1
        # output waiting: the runner comes back, less often while the port takes nothing (a
        # pty nobody reads does not keep it busy), soon again once a reader takes some
        assert board.poll(0) == TX_RETRY_MAX_MS
        reader = os.open(board.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            waits = []
            for _ in range(100):
                if select.select([reader], [], [], 0)[0]:
                    os.read(reader, 65536)
                waits.append(board.poll(0))
                if waits[-1] is None:
                    break
            # (the pty moves bytes to the reader's side a moment later: a try may find it
            # still full, and wait a little longer)
            assert waits[-1] is None and not board.line.out
            assert set(waits[:-1]) <= {1, 2, 4, 8, 16, 32, 64}
        finally:
            os.close(reader)
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


def test_a_socket_url_whose_server_restarts_reconnects(lines):
    # an RFC 2217-less serial server (ser2net's raw mode): pyserial's socket:// URL
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(5)
    port = srv.getsockname()[1]
    nic = devspec.open_device("serial:socket://127.0.0.1:%d,crc" % port, log=lines.append)
    try:
        for n in range(2):
            peer, _ = srv.accept()
            if n:
                # reconnected by poll() on the retry clock; a frame shows the way back works
                assert nic.link_up
            peer.sendall(slip.encode(b"frame %d" % n + bytes(30), slip.fcs16))
            assert _recv(nic) == b"frame %d" % n + bytes(30)
            nic.send(b"back" + bytes(30))
            peer.settimeout(5)
            assert slip.Decoder(crc=slip.fcs16).feed(peer.recv(4096)) == [b"back" + bytes(30)]
            peer.close()          # the server goes away
            assert _recv(nic) == b"" and not nic.link_up
            nic.send(b"lost" + bytes(30))
            assert nic.stats["drop_link_down"] == n + 1
            if n == 0:
                # the retry clock: nothing before RETRY_MS, a connect once it is due
                assert nic.poll(1000) == 500
                assert nic.poll(1499) == 1 and not nic.link_up
                nic.poll(1500)
        name = "serial socket://127.0.0.1:%d" % port
        assert lines == [name + " lost (disconnected); waiting for it to come back",
                         name + " is back",
                         name + " lost (disconnected); waiting for it to come back"]
    finally:
        nic.close()
        srv.close()


def _serve(argv):
    from test_cli_serve_dev import start_serve
    return start_serve(argv)


def _echo_once(s, stack, text, timeout_s=30):
    """Connect to 192.0.2.2:7 (serve's TCP echo), send text, -> what came back."""
    conn = stack.tcp.connect(B, 7)
    assert conn.send(text) == len(text)      # queued until the handshake completes
    got = bytearray()

    def pump():
        d = conn.recv(4096)
        if d:
            got.extend(d)
        return len(got) >= len(text)

    s.run(pump, timeout_s)
    conn.close()
    return bytes(got)


@pytest.mark.timeout(120)
def test_serve_on_a_replugged_port_says_one_line_each_way_and_serves_again(tmp_path):
    from test_cli_serve_dev import stop
    port = str(tmp_path / "ttyACM0")
    board = devspec.open_device("pty,crc", log=pytest.fail)
    os.symlink(board.path, port)
    proc, banner = _serve(["--dev", "serial:%s,crc" % port, "--ip", B + "/24", "--apps", "echo",
                           "--ctl", str(tmp_path / "c.sock")])
    new = None
    try:
        assert banner.startswith("barenet: serving %s/24 on serial:%s,crc, mtu 1006" % (B, port))
        s = Stacks()
        stack, iface = s.add(board, A + "/24")
        assert _echo_once(s, stack, b"before" * 100) == b"before" * 100
        board.close()                                  # unplugged
        assert select.select([proc.stderr], [], [], 10)[0]
        assert proc.stderr.readline() == "barenet: serial %s lost (disconnected); waiting " \
                                         "for it to come back\n" % port
        new = devspec.open_device("pty,crc", log=pytest.fail)
        iface.nic = new
        os.symlink(new.path, port + ".new")
        os.replace(port + ".new", port)                # plugged back in
        assert select.select([proc.stderr], [], [], 10)[0]
        assert proc.stderr.readline() == "barenet: serial %s is back\n" % port
        assert _echo_once(s, stack, b"after" * 100) == b"after" * 100
    finally:
        out, err = stop(proc)
        board.close()
        if new is not None:
            new.close()
    assert (proc.returncode, err) == (0, "")          # the two lines were all, no traceback
    assert out.startswith("barenet: stopped: serial rx "), out


@pytest.mark.parametrize("why", ["missing", "busy"])
def test_serve_on_a_missing_or_busy_port_is_one_line_and_status_2(tmp_path, why):
    from test_cli_serve_dev import barenet_cmd
    board = devspec.open_device("pty")
    holder = devspec.open_device("serial:" + board.path) if why == "busy" else None
    port = board.path if why == "busy" else "/dev/ttyBN404"
    try:
        p = subprocess.run(barenet_cmd() + ["serve", "--dev", "serial:" + port, "--ip",
                                            B + "/24", "--ctl", str(tmp_path / "c.sock")],
                           capture_output=True, text=True, timeout=30)
    finally:
        if holder is not None:
            holder.close()
        board.close()
    want = {"missing": "no such device (is the board plugged in?)",
            "busy": "in use by another program (a terminal or another barenet has it open)"}
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr == "barenet: error: cannot open serial port %r: %s\n" % (port, want[why])


@pytest.mark.parametrize("opts, baud", [(",rtscts", 115200), ("@57600,xonxoff", 57600),
                                        ("@9600", 9600)])
def test_baud_and_flow_control_reach_the_port(opts, baud):
    import termios
    board = devspec.open_device("pty")
    nic = devspec.open_device("serial:" + board.path + opts)
    try:
        iflag, _, cflag, _, ispeed, ospeed, _ = termios.tcgetattr(nic.transport.fd)
        assert ispeed == ospeed == getattr(termios, "B%d" % baud)
        assert bool(cflag & termios.CRTSCTS) == ("rtscts" in opts)
        assert bool(iflag & termios.IXON) == bool(iflag & termios.IXOFF) == ("xonxoff" in opts)
    finally:
        nic.close()
        board.close()


@pytest.mark.timeout(60)
def test_an_rfc2217_url_carries_frames_and_sets_the_remote_port_s_baud(lines):
    """`serial:rfc2217://HOST:PORT@BAUD,crc`: a serial port shared over the network by an RFC
    2217 server (pyserial's PortManager, as ser2net does). The baud rate reaches the server's
    real port through COM-PORT-OPTION SET-BAUDRATE (RFC 2217 section 3), and two stacks, one on
    each side, ping each other through it."""
    from rfc2217_server import RFC2217Server
    board = devspec.open_device("pty,crc", log=lines.append)
    server = RFC2217Server(board.path)
    host = None
    try:
        host = devspec.open_device("serial:rfc2217://127.0.0.1:%d@57600,crc" % server.port,
                                   log=lines.append)
        assert server.serial.baudrate == 57600
        s = Stacks()
        s.add(board, A + "/24")
        sb, _ = s.add(host, B + "/24")
        assert s.ping(sb, A, (56, 900)) == [(A, 0, 56), (A, 1, 900)]
        assert host.stats["drop_crc"] == board.stats["drop_crc"] == 0 and host.stats["rx"] >= 2
        assert lines == []
    finally:
        if host is not None:
            host.close()
        server.close()
        board.close()
