"""The MicroPython VM as a Wi-Fi board against the Linux kernel: the VM's barenet stack speaks
through its tunnel NIC (firmware/drivers/udp_link.py: one frame per UDP datagram over
127.0.0.1), a relay (barenet_host.relay) puts the frames on a TAP whose kernel side is in a
netns, and the VM's blocking sockets wait on the link (firmware/poll_driver.py).
"""

import contextlib
import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import KERNEL_IP, readline
from thirdparty import HTTP_PORT, MICRODOT, UMQTT, UREQUESTS, fetch, http_server, \
    kernel_subscriber, mosquitto, payloads, publish_retained
from vm_tunnel import Tunnel

pytestmark = pytest.mark.root

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIRMWARE = os.path.join(REPO, "firmware")
sys.path.insert(0, os.path.join(REPO, "tests", "micropython"))
from test_micropython import MICROPYTHON, run_vm, vm_env  # noqa: E402

VM_DIR = os.path.join(REPO, "tests", "micropython")

ECHO_SERVER = r"""
import hashlib, socket, sys
l = socket.socket()
l.bind(("192.0.2.1", 7))
l.listen(1)
l.settimeout(60)
print("ready", flush=True)
c, _ = l.accept()
c.settimeout(30)
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    n += len(d)
    c.sendall(d)
c.close()
print(n, h.hexdigest(), flush=True)
"""


@pytest.fixture
def tunnel(tap_ns):
    t = Tunnel(tap_ns.tap)
    yield t
    t.close()


@contextlib.contextmanager
def reaped(proc):
    """proc, killed and reaped if the block leaves it running (a step of the test failed)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def start_vm(script, *args, path=()):
    """The VM as a board running script (firmware/ and path on its path), in the background."""
    return subprocess.Popen([MICROPYTHON, os.path.join(VM_DIR, script)] + [str(a) for a in args],
                            cwd=REPO, env=vm_env([FIRMWARE] + list(path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_board(script, *args, path=(), timeout=120):
    return json.loads(run_vm(script, *args, path=[FIRMWARE] + list(path), timeout=timeout)
                      .splitlines()[-1])


def test_vm_pings_and_tcp_echoes_a_kernel_peer_through_the_udp_tunnel(tunnel, kernel):
    n = 200000
    with reaped(kernel.popen_py(ECHO_SERVER)) as srv:
        assert readline(srv.stdout, 15) == "ready\n"
        r = run_board("vm_kernel_link.py", tunnel.port, 7, n)
        out, err = srv.communicate(timeout=30)
    assert srv.returncode == 0, err
    assert r["ping"] == [["192.0.2.1", seq, "vm ping %d" % seq] for seq in (1, 2, 3)]
    assert r["peer"] == ["192.0.2.1", 7]
    data = bytes((i * 31 + 7) & 0xFF for i in range(n))
    want = hashlib.sha256(data).hexdigest()
    # byte-exact both ways: what the kernel received, and what came back to the VM
    assert out.split() == [str(n), want]
    assert r["echo"] == [n, want, want]
    assert r["internal"] == {}
    # (frames the kernel sent before the VM's first one, IPv6 router solicitations, dropped)
    assert tunnel.udp.peer[0] == "127.0.0.1"
    assert tunnel.relay.frames["a_to_b"] > 100 and tunnel.relay.frames["b_to_a"] > 100


@pytest.fixture(scope="session")
def sdists(tmp_path_factory):
    d = tmp_path_factory.mktemp("sdist")
    return {spec: fetch(spec, str(d)) for spec in (UMQTT, UREQUESTS, MICRODOT)}


def test_unmodified_umqtt_in_the_vm_publishes_and_subscribes_through_kernel_mosquitto(
        tunnel, kernel, sdists, tmp_path):
    sizes = [11, 3000, 20000]
    retained = os.urandom(5000)
    (tmp_path / "retained").write_bytes(retained)
    broker = mosquitto(kernel.ns, tmp_path)
    watcher = None
    try:
        publish_retained(kernel.ns, "barenet/kernel", tmp_path / "retained")
        watcher = kernel_subscriber(kernel.ns, "barenet/vm", len(sizes))
        r = run_board("vm_kernel_umqtt.py", tunnel.port, *sizes, path=[sdists[UMQTT]])
        seen = payloads(watcher)
    finally:
        if watcher is not None:
            watcher.stop()
        _, log = broker.stop()
    assert r["sub_session"] == 0 and r["internal"] == {}
    sent = [sha(payload(i, n)) for i, n in enumerate(sizes)]
    assert r["sent"] == sent
    # the retained message first (sent on subscribe), then the VM's own, in order
    assert r["got"] == [["barenet/kernel", len(retained), sha(retained)]] + \
        [["barenet/vm", n, h] for n, h in zip(sizes, sent)]
    assert [sha(p) for p in seen] == sent     # and so did a kernel subscriber
    assert "New client connected from 192.0.2.2" in log and "vm-pub" in log


def payload(i, n):
    return bytes((i * 13 + j * 7) & 0xFF for j in range(n))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_unmodified_urequests_in_the_vm_fetches_from_a_kernel_http_server(
        tunnel, kernel, sdists, tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    files = {"small.txt": b"hello from the kernel\n", "blob.bin": os.urandom(300000)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    server = http_server(kernel.ns, root)
    try:
        urls = ["http://%s:%d/%s" % (KERNEL_IP, HTTP_PORT, n) for n in files]
        r = run_board("vm_kernel_urequests.py", tunnel.port, *urls + [urls[0] + "-missing"],
                      path=[sdists[UREQUESTS]])
    finally:
        _, log = server.stop()
    assert r["get"][:2] == [[200, len(d), sha(d)] for d in files.values()]
    assert r["get"][2][0] == 404
    assert r["internal"] == {}
    assert log.count('"GET /') == 3 and "192.0.2.2" in log


def test_kernel_curl_and_ping_reach_a_server_in_the_vm(tunnel, kernel):
    n = 3
    with reaped(start_vm("vm_kernel_server.py", tunnel.port, n)) as vm:
        assert readline(vm.stdout, 20) == "listening\n", vm.stderr.read()
        ping = kernel.ping("-c", "3", "-i", "0.2", "-W", "5")
        pages = [kernel.ns.run(["curl", "-sS", "--max-time", "10", "http://192.0.2.2/p%d" % i],
                               text=False, timeout=20) for i in range(n)]
        out, err = vm.communicate(timeout=30)
    assert vm.returncode == 0, err
    assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout
    for i, p in enumerate(pages):
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"page %d from the VM\n" % i + bytes(range(256)) * 40
    r = json.loads(out.splitlines()[-1])
    assert r["served"] == [["192.0.2.1", "GET /p%d HTTP/1.1" % i] for i in range(n)]
    assert r["left"] == 0 and r["internal"] == {} and r["echo_replies"] >= 3


def test_unmodified_microdot_in_the_vm_serves_kernel_curl_over_barenet_aio(tunnel, kernel,
                                                                             sdists):
    n = 3
    src = os.path.join(sdists[MICRODOT], "src")
    with reaped(start_vm("vm_kernel_microdot.py", tunnel.port, n, path=[src])) as vm:
        assert readline(vm.stdout, 20) == "listening\n", vm.stderr.read()
        pages = [kernel.ns.run(["curl", "-sS", "--max-time", "10",
                                "http://192.0.2.2/page/%d" % i], timeout=20) for i in range(n)]
        out, err = vm.communicate(timeout=30)
    assert vm.returncode == 0, err
    for i, p in enumerate(pages):
        assert p.returncode == 0, p.stderr
        assert p.stdout == "page %d from microdot in the VM\n" % i + "x" * (i * 1000)
    r = json.loads(out.splitlines()[-1])
    assert r["served"] == [["192.0.2.1", i] for i in range(n)]
    assert r["left"] == 0 and r["internal"] == {}
