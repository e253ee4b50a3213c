# Runs inside the MicroPython VM: a board behind `barenet bridge` (tests/interop/
# test_bridge_kernel.py). Its barenet stack speaks SLIP (firmware/drivers/slip_stream.py) on an
# AF_UNIX socket to the bridge's `unix:PATH` board side and serves the status page (80) and
# TCP echo (7) to the kernel beyond the bridge's TUN, until SECONDS pass or the kernel side
# sends `stop` to its UDP port 9. Prints "up", then its counters as JSON at the end.
import json
import select
import sys
import time

from drivers.slip_stream import SlipStream, connect_unix
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet.loop import Loop
from barenet.stack import Stack

path, crc, seconds = sys.argv[1], sys.argv[2] == "crc", int(sys.argv[3])
sock = connect_unix(path)
link = SlipStream(sock, crc=crc)
stack = Stack("board")
stack.add_interface(link, ip="192.0.2.2/24", now_ms=time.ticks_ms())
loop = Loop(stack)
for app in (StatusPage(stack, 80), TCPEcho(stack, 7)):
    loop.add_task(app.poll)
ctl = stack.udp.bind(9)
poller = select.poll()
poller.register(sock, select.POLLIN)
print("up")
start = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), start) < seconds * 1000:
    wait = loop.step(time.ticks_ms())
    got = ctl.recvfrom()
    if got is not None and got[0] == b"stop":
        break
    poller.poll(20 if wait is None else min(wait, 20))
print(json.dumps({"link": link.stats, "tcp": stack.stats["tcp"],
                  "drop_internal_error": stack.stats["stack"].get("drop_internal_error", 0)}))
