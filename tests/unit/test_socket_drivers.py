"""The socket layer's drivers (barenet/socket.py "Blocking"): Sim.step, the simulator's wait,
and RunnerDriver, the host runner's, each carrying a blocking socket call to completion."""

import select
import socket
import threading

import pytest

from barenet.socket import Sockets
from barenet.stack import Stack
from barenet_host.runner import Runner, RunnerDriver
from barenet_host.vwire import Sim, SimDriver


def test_sim_step_jumps_to_the_next_deadline_but_never_past_max_ms():
    sim = Sim(start_ms=0)
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    sim.settle()
    # A connection attempt to nobody: its SYN retransmission timer is the next deadline
    c = a.tcp.connect("192.0.2.9", 80)
    t0 = sim.ms
    assert sim.step(10)
    assert sim.ms == t0 + 10            # bounded by max_ms
    sim.step(None)
    assert sim.ms > t0 + 10             # then up to the stack's own next timer
    c.abort()


def test_sim_step_reports_a_wait_that_would_never_end():
    sim = Sim(start_ms=0)
    t0 = sim.ms
    assert sim.step(None) is False and sim.ms == t0
    assert sim.step(250) is True and sim.ms == t0 + 250
    with pytest.raises(RuntimeError):
        SimDriver(sim).step(None)


class PairNIC:
    """One end of an AF_UNIX datagram socketpair as a pull NIC with an fd (barenet/nic.py)."""

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame):
        self.sock.send(frame)

    def recv_into(self, buf):
        try:
            return self.sock.recv_into(buf)
        except BlockingIOError:
            return 0


def host(sock, mac, ip, **cfg):
    stack = Stack("host", **cfg)
    r = Runner(stack)
    stack.add_interface(PairNIC(sock), mac=mac, ip=ip, now_ms=r.clock())
    return Sockets(stack, RunnerDriver(r)), r


def test_runner_driver_carries_blocking_calls_between_two_real_runners():
    # Two stacks joined by a socketpair "cable", each stepped only by its own blocking socket
    # calls: the server's in a thread, the client's here. Real time; every call has a timeout.
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv, rs = host(x, "02:00:00:00:00:01", "192.0.2.1/24")
    cli, rc = host(y, "02:00:00:00:00:02", "192.0.2.2/24")
    lst = srv.socket()
    lst.bind(("192.0.2.1", 7))
    lst.listen(1)
    lst.settimeout(10)
    result = []

    def serve():
        try:
            conn, _ = lst.accept()
            conn.settimeout(10)
            while True:
                d = conn.recv(4096)
                if not d:
                    break
                conn.sendall(d)
            conn.close()
            # Between blocking calls nothing steps a stack but its runner: run it until the
            # echo and the FIN are out and acknowledged (a program's main loop does this)
            rs.run(until=lambda: not srv.stack.tcp.connections(), timeout_s=10)
            result.append("done")
        except Exception as e:      # reported by the main thread's assert
            result.append(repr(e))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        c = cli.create_connection(("192.0.2.1", 7), timeout=10)
        data = bytes(range(256)) * 200
        c.sendall(data)
        c.shutdown(cli.SHUT_WR)
        got = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        c.close()
        t.join(10)
        assert got == data and result == ["done"]
    finally:
        for r in (rs, rc):
            r.close()
        x.close()
        y.close()


def test_runner_driver_never_sleeps_on_what_it_has_taken_in():
    # The datagram is already in the cable when recvfrom() starts. Had the driver's step
    # before its wait taken it in, select() would sleep until the next frame, and none comes
    # (here a timeout later; with no timeout, for ever): every wait must find it still in
    # the cable, where select() sees it.
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a, ra = host(x, "02:00:00:00:00:01", "192.0.2.1/24")
    b, rb = host(y, "02:00:00:00:00:02", "192.0.2.2/24")
    try:
        ra.step()
        rb.step()                       # the gratuitous ARPs are in; the cable is empty
        b.stack.interfaces[0].arp.learn(a.inet_aton("192.0.2.1"), b"\x02\0\0\0\0\x01",
                                        rb.clock())
        ua = a.socket(a.AF_INET, a.SOCK_DGRAM)
        ua.bind(("192.0.2.1", 9))
        ua.settimeout(5)
        ub = b.socket(b.AF_INET, b.SOCK_DGRAM)
        ub.sendto(b"hi", ("192.0.2.1", 9))
        rb.step()                       # b sends it
        taken_in = []
        wait = ra.wait
        ra.wait = lambda timeout: (taken_in.append(ua._ep.pending()), wait(timeout))
        assert ua.recvfrom(100) == (b"hi", ("192.0.2.2", ub.getsockname()[1]))
        assert taken_in in ([], [0])
    finally:
        for r in (ra, rb):
            r.close()
        x.close()
        y.close()


def test_a_lookup_under_the_runner_driver_ends_with_the_answer_on_a_quiet_link():
    # The answer wakes the client and is the last frame on the link: a lookup that left the
    # resolver's poll to the stack's next step then slept until the stack's next timer (the
    # bug this guards; here the resolver's 60 s try, past the 20 s join). Each of the lookup's
    # sleeps must end with a frame, never run out. The name server is a barenet UDP socket
    # in a thread; scapy builds its answer.
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv, rs = host(x, "02:00:00:00:00:01", "192.0.2.53/24")
    cli, rc = host(y, "02:00:00:00:00:02", "192.0.2.2/24", dns_timeout_ms=60000)
    cli.stack.interfaces[0].configure("192.0.2.2/24", dns=["192.0.2.53"])
    ns = srv.socket(srv.AF_INET, srv.SOCK_DGRAM)
    ns.bind(("192.0.2.53", 53))
    ns.settimeout(10)
    got, slept_out, asleep = [], [], threading.Event()
    sleep = rc.wait

    def wait(timeout):
        asleep.set()
        sleep(timeout)
        asleep.clear()
        if timeout != 0 and not select.select([y], [], [], 0)[0]:
            slept_out.append(timeout)        # no frame ended this sleep: it ran out
    rc.wait = wait

    def serve():
        q, peer = ns.recvfrom(512)
        q = DNS(q)
        a = DNS(id=q.id, qr=1, aa=1, rd=q.rd, qd=DNSQR(qname=q.qd[0].qname),
                an=DNSRR(rrname=q.qd[0].qname, type="A", ttl=60, rdata="192.0.2.9"))
        asleep.wait(10)     # the answer wakes the client (the case that stalled)
        ns.sendto(bytes(a), peer)
        rs.step()           # the reply out; then the server stack is silent, never stepped

    def lookup():
        got.append(cli.gethostbyname("board.test"))

    threads = [threading.Thread(target=f, daemon=True) for f in (serve, lookup)]
    try:
        for t in threads:
            t.start()
        threads[1].join(20)
        assert got == ["192.0.2.9"] and slept_out == []
        assert cli.stack.resolver.stats["tx_udp"] == 1
        threads[0].join(5)
    finally:
        for r in (rs, rc):
            r.close()
        x.close()
        y.close()
