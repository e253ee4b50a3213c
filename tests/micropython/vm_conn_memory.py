# What one TCP connection costs, its buffers excluded, in each state a server holds many of:
# half-open (SYN_RECEIVED), idle ESTABLISHED, and TIME_WAIT (its record, tcp/timewait.py, once
# the application has dropped the connection object). Runs unchanged on CPython
# (tracemalloc) and in the MicroPython VMs (gc.mem_alloc after gc.collect()); prints one JSON
# line. Two stacks on a virtual wire with the profile given, limits raised to hold N
# connections (the per-connection structures stay the profile's).
#
# The work is the generator STEPS, which yields where it wants a measurement and then reads
# HEAP. The 32-bit VM's runner (mpy32/run.mjs) collects between steps at the top level, the
# only place its collector frees anything; elsewhere the loop at the end does it.
#
#   argv: profile N
import gc
import json
import sys

from barenet import ticks
from barenet.wire import ethernet, ipv4, tcp as wtcp
from barenet_host.vwire import Sim

try:
    import tracemalloc
except ImportError:
    tracemalloc = None

profile = sys.argv[1]
n = int(sys.argv[2])

if tracemalloc is not None:
    tracemalloc.start()


def heap():
    gc.collect()
    if tracemalloc is not None:
        return tracemalloc.get_traced_memory()[0]
    return gc.mem_alloc()


HEAP = 0


CLIENT_MAC = b"\x02\x00\x00\x00\x00\x01"
SERVER_MAC = b"\x02\x00\x00\x00\x00\x02"
SPOOF_MAC = b"\x02\x00\x00\x00\x00\x09"
CLIENT_IP = bytes((192, 0, 2, 1))
SERVER_IP = bytes((192, 0, 2, 2))
SPOOF_IP = bytes((192, 0, 2, 9))

def syn(sport):
    """A SYN from the spoofing port, built with barenet's own codecs."""
    buf = bytearray(14 + 20 + 24)
    ethernet.emit(buf, SERVER_MAC, SPOOF_MAC, ethernet.TYPE_IPV4)
    ipv4.emit(buf, 14, SPOOF_IP, SERVER_IP, wtcp.PROTO, 24, sport, 64)
    hdr = memoryview(buf)[34:58]
    olen = wtcp.options(hdr, wtcp.HEADER_LEN, mss=1460)
    wtcp.emit(hdr, sport, 80, 1000 + sport, 0, wtcp.SYN, 65535, 0, olen)
    wtcp.finish_checksum(hdr, None, SPOOF_IP, SERVER_IP)
    return bytes(buf)


def steps():
    out = {"profile": profile, "n": n}
    limits = {"max_connections": 2 * n + 8, "syn_backlog": n, "listen_backlog": n,
              "time_wait_max": 2 * n}
    sim = Sim(ticks.PERIOD - 1000)
    wire = sim.wire()
    client, _ = sim.host(wire, CLIENT_MAC, "192.0.2.1/24", profile=profile, seed=1, **limits)
    server, siface = sim.host(wire, SERVER_MAC, "192.0.2.2/24", profile=profile, seed=2,
                              **limits)
    # A port that sends SYNs from 192.0.2.9 and drops whatever comes back (the SYN-ACKs).
    spoof = wire.nic()
    spoof.on_frame = lambda frame, now: None
    siface.arp.learn(SPOOF_IP, SPOOF_MAC, sim.now)
    lst = server.tcp.listen(80)
    sim.run(max_ms=10)

    frames = [syn(10000 + i) for i in range(n)]
    yield
    m0 = HEAP
    for f in frames:
        spoof.send(f)
    sim.run(max_ms=1)
    frames = None
    assert len(lst.syn_queue) == n, len(lst.syn_queue)
    yield
    m1 = HEAP
    held = sum(c.info()["buffer_bytes"] for c in lst.syn_queue)
    out["half_open"] = (m1 - m0 - held) // n
    out["half_open_buffers"] = held // n
    lst.close()                   # resets them all: the table is empty again
    sim.run(max_ms=10)

    lst = server.tcp.listen(81)
    clients = [None] * n
    servers = [None] * n
    yield
    m2 = HEAP
    for i in range(n):
        clients[i] = client.tcp.connect("192.0.2.2", 81)
    assert sim.run(until=lambda: len(lst.queue) == n, max_ms=5000)
    for i in range(n):
        servers[i] = lst.accept()
    sim.advance(100)
    held = 0
    for c in clients + servers:
        assert c.info()["state"] == "ESTABLISHED"
        held += c.info()["buffer_bytes"]
    yield
    m3 = HEAP
    out["established"] = (m3 - m2 - held) // (2 * n)
    out["established_buffers"] = held // (2 * n)

    # The server closes first and holds TIME_WAIT; the clients' ends close and are dropped,
    # and so are the server's connection objects: what is left is the TIME_WAIT records.
    for c in servers:
        c.close()
    sim.run(until=lambda: all(c.info()["state"] == "CLOSE_WAIT" for c in clients),
            max_ms=5000)
    for c in clients:
        c.close()
    sim.run(until=lambda: all(c.info()["state"] == "TIME_WAIT" for c in servers),
            max_ms=5000)
    sim.advance(10)
    clients = None
    assert len(client.tcp.connections()) == 0 and len(server.tcp.connections()) == 0
    assert server.tcp.time_wait_count() == n
    held = sum(c.info()["buffer_bytes"] for c in servers)
    # What a record costs, measured as n more of them join the table, made from one of the
    # connections with other remote ports: comparing with the memory before the connections
    # would count what the tables grew to for them, and what the 32-bit VM's conservative
    # collector keeps of them through stale pointers.
    tw = server.tcp.time_wait
    model = servers[0]
    servers = None
    t = server.tcp._clock(sim.now)
    yield
    m4 = HEAP
    for i in range(n):
        model.rport = 20000 + i
        tw.enter(model, t)
    model = None
    assert server.tcp.time_wait_count() == 2 * n
    yield
    m5 = HEAP
    out["time_wait"] = (m5 - m4) // n
    out["time_wait_buffers"] = held // n
    # and after 2 MSL they are gone
    sim.advance(2 * server.cfg.msl_ms)
    assert server.tcp.time_wait_count() == 0 and not server.tcp.time_wait._index
    print(json.dumps(out))


STEPS = steps()
if not globals().get("STEPPED"):
    for _ in STEPS:
        HEAP = heap()
