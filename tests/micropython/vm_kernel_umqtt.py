# Runs inside the MicroPython VM: the unmodified umqtt.simple (micropython-umqtt.simple, fetched
# at test time) over barenet's sockets after install(), on the UDP tunnel link (vm_board.py), to
# mosquitto in the netns. A subscriber gets the kernel's retained message and, through the
# broker, what a second client publishes (qos 0 and 1). argv: relay UDP port, then the sizes to
# publish. Prints one JSON object.
import json
import sys

import barenet.socket
from vm_board import KERNEL, board, sha

stack, drv = board(int(sys.argv[1]))
barenet.socket.install(stack, drv)
barenet.socket.setdefaulttimeout(20)    # umqtt's blocking reads, bounded
from umqtt.simple import MQTTClient  # noqa: E402  (after install: it imports usocket)


def payload(i, n):
    return bytes((i * 13 + j * 7) & 0xFF for j in range(n))


got = []
sub = MQTTClient(b"vm-sub", KERNEL)
sub.set_callback(lambda topic, msg: got.append([topic.decode(), len(msg), sha(msg)]))
out = {"sub_session": sub.connect()}
sub.subscribe(b"barenet/#")
pub = MQTTClient(b"vm-pub", KERNEL)
pub.connect()
sizes = [int(a) for a in sys.argv[2:]]
for i, n in enumerate(sizes):
    pub.publish(b"barenet/vm", payload(i, n), qos=i % 2)
for _ in range(len(sizes) + 1):
    sub.wait_msg()
pub.disconnect()
sub.disconnect()
out["got"] = got
out["sent"] = [sha(payload(i, n)) for i, n in enumerate(sizes)]
out["internal"] = stack.stats["stack"]
print(json.dumps(out))
