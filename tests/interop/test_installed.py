"""Unmodified CPython libraries over barenet after `barenet.socket.install()` (issue 9 item 7):
urllib.request fetching from a kernel HTTP server, and paho-mqtt publishing and subscribing
through mosquitto, both in the netns, barenet on a TAP there (installed_client.py, run in a
subprocess inside the netns).
"""

import hashlib
import json
import os
import sys

import pytest

from barenet_host.netns import unique_name

from conftest import KERNEL_CIDR, KERNEL_IP
from thirdparty import HTTP_PORT, http_server, kernel_subscriber, mosquitto, payloads, \
    publish_retained

pytestmark = pytest.mark.root

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "installed_client.py")


@pytest.fixture
def client(netns):
    """client(mode, *args) -> the JSON installed_client.py printed, run on a TAP in netns."""
    tap = unique_name("i")
    netns.tuntap_add(tap)
    netns.addr(tap, KERNEL_CIDR)
    netns.up(tap)

    def run(mode, *args, timeout=60):
        p = netns.run([sys.executable, CLIENT, tap, mode] + [str(a) for a in args],
                      timeout=timeout)
        assert p.returncode == 0, "client exited %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
        return json.loads(p.stdout.splitlines()[-1])
    return run


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_urllib_request_fetches_from_a_kernel_http_server_over_barenet(netns, client, tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    files = {"index.html": b"<h1>barenet</h1>\n", "blob.bin": os.urandom(1 << 20)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    server = http_server(netns, root)
    try:
        base = "http://%s:%d/" % (KERNEL_IP, HTTP_PORT)
        r = client("urllib", *[base + n for n in files] + [base + "missing"])
    finally:
        _, log = server.stop()
    assert r["patched"] and r["internal"] == {}
    assert r["get"] == [[200, str(len(d)), len(d), sha(d)] for d in files.values()] + \
        [[404, "File not found"]]
    # three requests, all from barenet's address
    gets = [ln for ln in log.splitlines() if '"GET /' in ln]
    assert len(gets) == 3 and all(ln.startswith("192.0.2.2 - - ") for ln in gets)
    assert r["tap"]["rx"] > (1 << 20) // 1460    # the megabyte came in on the TAP


@pytest.mark.parametrize("mode", ["paho", "paho_threaded"])
def test_paho_mqtt_publishes_and_subscribes_through_kernel_mosquitto_over_barenet(
        netns, client, tmp_path, mode):
    sizes = [7, 2000, 50000]
    retained = os.urandom(4000)
    (tmp_path / "retained").write_bytes(retained)
    broker = mosquitto(netns, tmp_path)
    watcher = None
    try:
        publish_retained(netns, "barenet/kernel", tmp_path / "retained")
        watcher = kernel_subscriber(netns, "barenet/py", len(sizes))
        r = client(mode, KERNEL_IP, *sizes)
        seen = payloads(watcher)
    finally:
        if watcher is not None:
            watcher.stop()
        _, log = broker.stop()
    assert r["patched"] and r["internal"] == {}
    assert r["subscribed"] == [[1]]
    sent = [sha(payload(i, n)) for i, n in enumerate(sizes)]
    assert r["sent"] == sent
    # the qos 1 publication acknowledged (a qos 0 one counts as published once written)
    assert r["acked"] == sorted(r["mids"])
    assert r["got"] == [["barenet/kernel", len(retained), sha(retained)]] + \
        [["barenet/py", n, h] for n, h in zip(sizes, sent)]
    assert [sha(p) for p in seen] == sent
    assert log.count("New client connected from 192.0.2.2") == 2


def payload(i, n):
    return bytes((i * 13 + j * 7) & 0xFF for j in range(n))
