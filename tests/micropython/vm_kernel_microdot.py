# Runs inside the MicroPython VM: the unmodified microdot (PyPI, fetched at test time), an
# asyncio web framework, serves kernel curl in the netns over barenet.aio (install() makes
# asyncio.start_server barenet's) on the UDP tunnel link (vm_board.py). argv: relay UDP port,
# requests to serve; the last one shuts the server down. Prints "listening", then one JSON line.
import json
import sys

sys.path.append(".frozen")   # MICROPYPATH replaced the path: asyncio is frozen into the VM

import barenet.socket  # noqa: E402
from barenet import ticks  # noqa: E402
from vm_board import board  # noqa: E402

stack, drv = board(int(sys.argv[1]))
barenet.socket.install(stack, drv)
from microdot import Microdot  # noqa: E402  (after install: asyncio.start_server is barenet's)

app = Microdot()
served = []


@app.route("/page/<int:n>")
async def page(request, n):
    served.append([request.client_addr[0], n])
    if len(served) == int(sys.argv[2]):
        request.app.shutdown()
    return "page %d from microdot in the VM\n" % n + "x" * (n * 1000)

print("listening")
app.run(port=80)
# run() returns once the server closed, with the last response possibly still queued in the
# stack: a board's loop would go on stepping it; this process runs it until the peers are gone
start = drv.now()
while stack.tcp.conns and ticks.diff(drv.now(), start) < 5000:
    drv.step(100)
print(json.dumps({"served": served, "left": len(stack.tcp.conns),
                  "internal": stack.stats["stack"]}))
