# Runs inside the MicroPython VM: the unmodified urequests (micropython-urequests, fetched at
# test time) over barenet's sockets after install(), on the UDP tunnel link (vm_board.py),
# fetching files from a kernel HTTP server in the netns. argv: relay UDP port, then URLs.
# Prints one JSON object: per URL the status, the length and the sha256 of the body.
import json
import sys

import barenet.socket
from vm_board import board, sha

stack, drv = board(int(sys.argv[1]))
barenet.socket.install(stack, drv)
barenet.socket.setdefaulttimeout(20)    # urequests' blocking reads, bounded
import urequests  # noqa: E402  (after install: it imports usocket)

out = {"get": []}
for url in sys.argv[2:]:
    r = urequests.get(url)
    body = r.content
    out["get"].append([r.status_code, len(body), sha(body)])
    r.close()
out["internal"] = stack.stats["stack"]
print(json.dumps(out))
