# Runs inside the MicroPython VM: a board's DHCP client (barenet/dhcp.py) gets a lease from the
# gateway's server (barenet_host.nat.dhcpd) on the virtual wire, probes the address, renews it
# at T1, and resolves a name through the resolver (barenet/dns.py) from the server DHCP gave it.
# The clock starts just before the tick counter wraps. Prints one JSON object.
import json
import sys

from barenet import ticks
from barenet.dhcp import BOUND, DHCPClient
from barenet.dns import Resolver
from barenet.stack import Stack
from barenet.wire import dns
from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.vwire import Sim

sim = Sim(ticks.PERIOD - int(sys.argv[1]))
wire = sim.wire()
gw, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
srv = DHCPServer(gw, "192.0.2.100", "192.0.2.110", lease_s=120)
sim.add_task(srv.poll, gw)
names = gw.udp.bind(53)


def answer(now):
    # The gateway's name server: every A query is 192.0.2.9
    got = names.recvfrom()
    if got is not None:
        q = dns.parse(got[0])
        name = q.questions[0][0]
        names.sendto(dns.build(q.id, dns.QR | dns.RD | dns.RA, [(name, 1, 1)],
                               [(name, 1, 1, 30, bytes([192, 0, 2, 9]))]), got[1])
    return None


sim.add_task(answer, gw)
board = Stack("board", seed=3)
iface = board.add_interface(wire.nic(), mac="02:00:00:00:00:02", now_ms=sim.now)
sim.add_stack(board)
client = DHCPClient(board, iface)
sim.add_task(client.poll, board)
configured_before = iface.configured
sim.run(until=lambda: client.state == BOUND, max_ms=30000)
bound_ms = sim.ms
first = client.info()
sim.run(until=lambda: client.stats.get("renewed"), max_ms=120000)
r = Resolver(board)
q = r.lookup("board.test", sim.now)
sim.run(until=lambda: q.done, max_ms=10000)
# The socket layer over the same resolver: names and its error
from barenet.socket import Sockets, gaierror
from barenet_host.vwire import SimDriver
net = Sockets(board, SimDriver(sim))
by_socket = net.getaddrinfo("other.test", 80, 0, net.SOCK_STREAM)[0][4]
try:
    net.gethostbyname("bad..name")
    err = None
except gaierror as e:
    err = [e.errno, isinstance(e, OSError)]
print(json.dumps({"by_socket": list(by_socket), "gaierror": err,
"configured_before": configured_before, "info": first,
                  "bound_after_ms": bound_ms - (ticks.PERIOD - int(sys.argv[1])),
                  "renewed": client.stats.get("renewed", 0), "state": client.state,
                  "resolved": [ "%d.%d.%d.%d" % tuple(a) for a in q.addresses],
                  "leases": srv.leases()}))
