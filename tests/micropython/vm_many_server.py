# Runs inside the MicroPython VM (-X heapsize=..., tests/interop/test_vm_many_clients.py): a
# board on the UDP tunnel link (vm_board.py) serves examples/chat_poll.py, unchanged, to kernel
# clients in the netns, with the board profile and max_connections from argv. argv: relay UDP
# port, max_connections, seconds at most. Prints "listening <heap free>", then, once the
# clients that came have all left (or the time is up), one JSON object: the most clients held
# at once, the heap free (after gc.collect()) while they were, and the stack's counters.
import gc
import json
import sys
import time

from barenet import socket as bsocket
from vm_board import board

stack, drv = board(int(sys.argv[1]), max_connections=int(sys.argv[2]))
bsocket.install(stack, drv)
import chat_poll    # noqa: E402 (after install: its `import socket` is barenet's)

server = chat_poll.ChatServer(7000)
gc.collect()
print("listening", gc.mem_free())
peak = 0
low = None          # the least heap free seen while peak clients were connected
start = last = time.ticks_ms()
limit = int(sys.argv[3]) * 1000
while time.ticks_diff(time.ticks_ms(), start) < limit:
    server.poll(50)
    n = len(server.clients)
    now = time.ticks_ms()
    # a collection at each new peak, then every 500 ms at it (the chat's queues come and go)
    if n > peak or (n == peak and n and time.ticks_diff(now, last) >= 500):
        gc.collect()
        free = gc.mem_free()
        low = free if n > peak or low is None else min(low, free)
        peak = n
        last = now
    elif peak and not n:
        break
server.close()
st = stack.stats
print(json.dumps({"peak": peak, "free_at_peak": low, "heap": gc.mem_free() + gc.mem_alloc(),
                  "tcp": st["tcp"], "internal": st["stack"], "link": stack.interfaces[0].nic.stats,
                  "last_error": repr(getattr(stack, "last_error", None))}))
