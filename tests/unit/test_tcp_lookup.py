"""TCP's connection lookup (tcp/__init__.py): a two-level table, local port then remote port,
in which connections that share both ports are chained and told apart by their addresses.
Three clients on three addresses use the same source port towards one server port; each
connection gets its own data, and closing one in the middle of the chain leaves the others."""

from barenet_host.vwire import Sim

SERVER = "192.0.2.1"
CLIENTS = ("192.0.2.10", "192.0.2.11", "192.0.2.12")


def test_connections_sharing_both_ports_are_told_apart_by_address():
    sim = Sim(0)
    wire = sim.wire()
    server, _ = sim.host(wire, "02:00:00:00:00:01", SERVER + "/24", seed=1)
    clients = [sim.host(wire, "02:00:00:00:00:%02x" % (10 + i), ip + "/24", seed=2 + i)[0]
               for i, ip in enumerate(CLIENTS)]
    lst = server.tcp.listen(80)
    conns = [c.tcp.connect(SERVER, 80, src_port=40000) for c in clients]
    accepted = {}

    def accept(now):
        while True:
            c = lst.accept()
            if c is None:
                return None
            accepted[c.rip] = c
    sim.add_task(accept)
    assert sim.run(until=lambda: len(accepted) == 3, max_ms=5000)
    by = server.tcp._ports[80]
    assert list(by) == [40000]               # one chain holds all three
    chain = []
    c = by[40000]
    while c is not None:
        chain.append(c)
        c = c.chain
    assert sorted(x.rip for x in chain) == sorted(accepted)

    def exchange(pairs):
        for i, (cli, srv) in pairs:
            assert cli.send(b"from %d" % i) == len(b"from %d" % i)
        sim.run(max_ms=100)
        for i, (cli, srv) in pairs:
            assert srv.recv(100) == b"from %d" % i
            srv.send(b"to %d" % i)
        sim.run(max_ms=100)
        for i, (cli, srv) in pairs:
            assert cli.recv(100) == b"to %d" % i

    srvs = [accepted[bytes(int(x) for x in ip.split("."))] for ip in CLIENTS]
    exchange(list(enumerate(zip(conns, srvs))))
    # The middle of the chain goes away (an abort: gone from the tables at once) ...
    middle = chain[1]
    i = srvs.index(middle)
    middle.abort()
    assert middle not in server.tcp.connections() and len(server.tcp.conns) == 2
    c, left = by[40000], []
    while c is not None:
        left.append(c)
        c = c.chain
    assert left == [chain[0], chain[2]]
    # ... and the other two still find their connections, both ways.
    sim.run(max_ms=100)
    rest = [(k, (conns[k], srvs[k])) for k in range(3) if k != i]
    exchange(rest)
    for k, (cli, srv) in rest:
        srv.abort()
    assert server.tcp._ports == {} and server.tcp.conns == {}
