# Runs inside the MicroPython VM: a board's barenet stack on firmware/drivers/slip_stream.py
# over an AF_UNIX socket to a host's `unix:PATH` SLIP device, where a host barenet stack
# answers. It pings the host, sends SIZE bytes to the host's TCP echo service and checks what
# comes back, answers the host's pings, then prints JSON results.
import hashlib
import json
import select
import sys
import time

from drivers.slip_stream import SlipStream, connect_unix
from barenet.loop import Loop
from barenet.stack import Stack
from vm_common import payload

path, crc, size = sys.argv[1], sys.argv[2] == "crc", int(sys.argv[3])
HOST = "192.0.2.1"
sock = connect_unix(path)
link = SlipStream(sock, crc=crc)
stack = Stack("board")
stack.add_interface(link, ip="192.0.2.2/24", now_ms=time.ticks_ms())
loop = Loop(stack)
poller = select.poll()
poller.register(sock, select.POLLIN)


def run(until, ms=30000):
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < ms:
        wait = loop.step(time.ticks_ms())
        if until():
            return True
        poller.poll(20 if wait is None else min(wait, 20))
    return False


def hexsha(h):
    return "".join("%02x" % x for x in h.digest())


out = {"ping": []}
ep = stack.icmp.echo_endpoint(9)
for seq, n in enumerate((56, 3000)):
    ep.send(HOST, seq, payload(seq, n))
    box = []
    run(lambda: box.append(ep.recv()) or box[-1] is not None, 10000)
    r = box[-1]
    out["ping"].append(None if r is None else [r[0], r[1], len(r[2]),
                                                r[2] == payload(seq, n)])

data = bytes(payload(7, 1000)) * (size // 1000)
conn = stack.tcp.connect(HOST, 7)
st = {"sent": 0, "got": 0, "eof": False}
back = hashlib.sha256()


def pump():
    while st["sent"] < len(data):
        n = conn.send(memoryview(data)[st["sent"]:st["sent"] + 2048])
        if not n:
            break
        st["sent"] += n
        if st["sent"] == len(data):
            conn.shutdown_write()
    while True:
        d = conn.recv(2048)
        if d is None:
            break
        if not d:
            st["eof"] = True
            break
        back.update(d)
        st["got"] += len(d)
    return st["eof"]


out["echo_done"] = run(pump, 60000)
out["echo"] = [st["got"], hexsha(back), hexsha(hashlib.sha256(data))]
# the host pings us while this runs; wait until both are answered
out["answered"] = run(lambda: stack.stats["icmp"].get("tx_echo_reply", 0) >= 2, 10000)
conn.close()
run(lambda: not stack.tcp.connections(), 5000)
out["link"] = link.stats
out["drop_internal_error"] = stack.stats["stack"].get("drop_internal_error", 0)
print(json.dumps(out))
