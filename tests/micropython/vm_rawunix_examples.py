# Runs inside the MicroPython VM: one of examples/raw_ping.py and examples/unix_ipc.py over
# barenet's socket API, after install() makes `import socket` barenet's. Two stacks on a
# virtual wire; the example runs on the second (192.0.2.2). argv: examples dir, module, its
# arguments. Prints the example's lines, then one JSON object with main()'s result.
import json
import sys

from barenet import ticks
from barenet import socket as bsock
from barenet_host.vwire import Sim, SimDriver

sim = Sim(ticks.PERIOD - 3000)
wire = sim.wire()
sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
sys.path.append(sys.argv[1])
bsock.install(b, SimDriver(sim))
mod = __import__(sys.argv[2])
print(json.dumps({"result": mod.main(sys.argv[3:])}))
