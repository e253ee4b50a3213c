"""Run by test_installed.py inside the test's netns: barenet on a TAP made there (Runner +
RunnerDriver), made this process's socket module with install() before the unmodified library
is imported, then the library used as its documentation says. In a subprocess, so the patched
socket module never leaks into pytest. argv: TAP name, mode, mode's arguments. Prints JSON.

A process inside the netns reaches 192.0.2.1 from 192.0.2.2 only through barenet: the kernel's
own sockets there would come from 192.0.2.1 itself, which the kernel servers' logs tell apart.
"""

import hashlib
import json
import sys

import barenet.socket
from barenet.stack import Stack
from barenet_host.devices.tap import TapDevice
from barenet_host.runner import Runner, RunnerDriver, now_ms

MAC = b"\x02\x00\xc0\x00\x02\x02"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def urllib_get(urls):
    import urllib.error
    import urllib.request
    out = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                body = r.read()
                out.append([r.status, r.headers["Content-Length"], len(body), sha(body)])
        except urllib.error.HTTPError as e:
            out.append([e.code, e.reason])
    return {"get": out, "patched": urllib.request.socket is barenet.socket}


def payload(i, n):
    return bytes((i * 13 + j * 7) & 0xFF for j in range(n))


def paho_pubsub(driver, args):
    """A subscriber gets the kernel's retained message and, through the broker, what a second
    client publishes (qos 0 and 1), without paho's loop(): its threads and select() over a
    socketpair need barenet sockets with a fileno. The clients' own loop_read/loop_write/
    loop_misc are called while the driver steps the stack."""
    import paho.mqtt.client as mqtt
    host, sizes = args[0], [int(a) for a in args[1:]]
    got, acked, subscribed = [], [], []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="py-sub")
    sub.on_message = lambda c, u, m: got.append([m.topic, len(m.payload), sha(m.payload)])
    sub.on_subscribe = lambda c, u, mid, codes, props: subscribed.append(
        [x.value for x in codes])
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="py-pub")
    pub.on_publish = lambda c, u, mid, code, props: acked.append(mid)
    clients = (sub, pub)

    def pump(until):
        for _ in range(400):     # 400 rounds of at most 50 ms: 20 s
            for c in clients:
                for rc in (c.loop_read(), c.loop_write(), c.loop_misc()):
                    if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN, mqtt.MQTT_ERR_NO_CONN):
                        raise RuntimeError("paho: %s" % mqtt.error_string(rc))
            if until():
                return
            driver.step(50)
        raise TimeoutError("paho: no progress in 20 s")

    for c in clients:
        c.connect(host, 1883, keepalive=30)
    pump(lambda: sub.is_connected() and pub.is_connected())
    sub.subscribe("barenet/#", qos=1)
    pump(lambda: subscribed)
    infos = [pub.publish("barenet/py", payload(i, n), qos=i % 2) for i, n in enumerate(sizes)]
    pump(lambda: len(got) == len(sizes) + 1 and len(acked) == len(sizes))
    for c in clients:
        c.disconnect()
    return {"got": got, "subscribed": subscribed, "acked": sorted(acked),
            "mids": [i.mid for i in infos], "sent": [sha(payload(i, n)) for i, n in
                                                     enumerate(sizes)],
            "patched": mqtt.socket is barenet.socket}


def paho_threaded(args):
    """The same through paho's own network thread (loop_start: select over the socket's
    fileno and a socketpair), barenet's stack in its thread (barenet_host.threaded)."""
    import threading
    import paho.mqtt.client as mqtt
    host, sizes = args[0], [int(a) for a in args[1:]]
    got, subscribed = [], threading.Event()
    done = threading.Event()

    def on_message(c, u, m):
        got.append([m.topic, len(m.payload), sha(m.payload)])
        if len(got) == len(sizes) + 1:
            done.set()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="py-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="py-pub")
    for c in (sub, pub):
        c.connect(host, 1883, keepalive=30)
        c.loop_start()
    sub.subscribe("barenet/#", qos=1)
    if not subscribed.wait(20):
        raise TimeoutError("paho: no SUBACK in 20 s")
    infos = [pub.publish("barenet/py", payload(i, n), qos=i % 2) for i, n in enumerate(sizes)]
    for i in infos:
        i.wait_for_publish(20)
    if not done.wait(20):
        raise TimeoutError("paho: %d of %d messages in 20 s" % (len(got), len(sizes) + 1))
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()
    return {"got": got, "subscribed": [[1]], "acked": [i.mid for i in infos if i.is_published()],
            "mids": [i.mid for i in infos], "sent": [sha(payload(i, n)) for i, n in
                                                     enumerate(sizes)],
            "patched": mqtt.socket is barenet.socket}


def main():
    tap = TapDevice(sys.argv[1], create=False)
    stack = Stack("host")
    stack.add_interface(tap, mac=MAC, ip="192.0.2.2/24", now_ms=now_ms())
    runner = Runner(stack)
    if sys.argv[2] == "paho_threaded":
        from barenet_host.threaded import StackThread
        driver = StackThread(runner)
        driver.start()
    else:
        driver = RunnerDriver(runner)
    barenet.socket.install(stack, driver)
    barenet.socket.setdefaulttimeout(20)   # every blocking call the library makes is bounded
    mode, args = sys.argv[2], sys.argv[3:]
    if mode == "urllib":
        out = urllib_get(args)
    elif mode == "paho_threaded":
        out = paho_threaded(args)
        driver.stop()
    else:
        out = paho_pubsub(driver, args)
    out["tap"] = tap.stats
    out["internal"] = stack.stats["stack"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
