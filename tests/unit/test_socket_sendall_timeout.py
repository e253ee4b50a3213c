"""sendall()'s timeout bounds the whole call, as CPython's does since 3.5, even when every send
inside it makes progress: a peer that reads a little every 100 ms keeps each send short, and
only the total can run out. Barenet only: the peer must read while the sender's call blocks,
which one thread can do on the simulator and not on the kernel."""

import pytest

from barenet.socket import Sockets
from barenet_host.vwire import Sim, SimDriver


def test_sendall_times_out_on_the_total_not_per_send():
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host")
    lst = a.tcp.listen(7)
    got = bytearray()
    due = [None]

    def slow_reader(now):
        # the server reads 2 000 bytes every 100 ms: 20 kB/s
        conn = lst.accept() if not got and due[0] is None else None
        if conn is not None:
            due[0] = (conn, now)
        if due[0] is None:
            return None
        conn, at = due[0]
        if now - at >= 100:
            d = conn.recv(2000)
            if d:
                got.extend(d)
            due[0] = (conn, now)
        return 100

    sim.add_task(slow_reader)
    net = Sockets(b, SimDriver(sim))
    s = net.create_connection(("192.0.2.1", 7), 5)
    s.settimeout(1.0)
    data = bytes(i & 0xFF for i in range(1 << 20))   # far more than 1 s of reading drains
    t0 = sim.ms
    with pytest.raises(TimeoutError):
        s.sendall(data)
    took = sim.ms - t0
    assert 1000 <= took < 1200, took
    # the reader kept up with some of it: each send inside made progress before the end
    assert 10000 < len(got) < len(data)
    assert bytes(got) == data[:len(got)]
