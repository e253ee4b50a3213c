"""The examples (examples/*.py), the same scenarios (scenarios.py) checked by the same
assertions on three targets: CPython's own sockets on 127.0.0.1 (the reference, the Linux
kernel), and barenet on a virtual wire in CPython (host profile) and in the MicroPython VM
(board profile), where each program is the example's own code on its own stack, run in turns
(barenet_host/turns.py).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")
sys.path.insert(0, HERE)
sys.path.insert(0, EXAMPLES)
import scenarios  # noqa: E402
from kernel_world import KernelWorld  # noqa: E402

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


def in_vm(name, *args):
    """Run scenarios.NAME(*args) in the MicroPython VM, with the board profile (config.py) as
    on a board; -> its result (through JSON)."""
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(
        [os.path.join(REPO, "shared"), os.path.join(REPO, "host"), EXAMPLES, HERE]))
    p = subprocess.run([MICROPYTHON, os.path.join(HERE, "vm_examples.py"), name,
                        json.dumps(list(args)), "board"], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=240)
    assert p.returncode == 0, "VM exited %d\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return json.loads(p.stdout.splitlines()[-1])


def in_cpython(name, *args):
    # through JSON as well, so every target's results compare the same way
    return json.loads(json.dumps(getattr(scenarios, name)(scenarios.BarenetWorld(), *args)))


def on_kernel(name, *args):
    return json.loads(json.dumps(getattr(scenarios, name)(KernelWorld(), *args)))


RUNTIMES = [pytest.param(on_kernel, id="kernel"), pytest.param(in_cpython, id="cpython"),
            pytest.param(in_vm, id="micropython")]


@pytest.mark.parametrize("run", RUNTIMES)
def test_http_server_and_client(run):
    r = run("http")
    # keep-alive: three answers on one connection, each with its Content-Length
    p = r["pipelined"]
    assert p.count("HTTP/1.1 ") == 3
    assert p.startswith("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 51\r\n")
    assert "HTTP/1.1 404 Not Found\r\n" in p
    assert p.endswith("Content-Length: 5\r\nConnection: close\r\n\r\nab\r\nc")
    assert r["bad"].startswith("HTTP/1.1 400 Bad Request\r\n") and "Connection: close" in r["bad"]
    assert r["http10"].endswith("Connection: close\r\n\r\nhello, ten\n")
    assert r["get"][:2] == [200, "OK"] and r["get"][3] == "hello, vm\n"
    assert ["Content-Length", "10"] in r["get"][2]
    assert r["main"] == 0
    status, _, headers, body = r["chunked"]
    assert status == 200 and body == "hello, world\n"
    assert r["chunked_request"] == "GET /c HTTP/1.1"
    frm = "connection from %s:" % r["client_ip"]
    log = r["log"]
    assert log[0].startswith(frm) and log[4].startswith(frm)
    assert log[1:4] == ["GET / 200", "GET /nope 404", "POST /echo 200"]
    assert "bad request: 400" in log and "GET /hello?name=vm 200" in log


@pytest.mark.parametrize("run", RUNTIMES)
def test_udp_discovery_finds_every_device_by_broadcast(run):
    r = run("discovery")
    # barenet: the limited broadcast and the subnet's directed one, three devices; the kernel
    # on loopback: 127.255.255.255, one device
    assert len(r["found"]) == len(r["broadcasts"])
    for found in r["found"]:
        assert sorted(found) == r["want"]
    # each query is sent twice; on the kernel the device may not be bound for the first one
    n = 2 * len(r["broadcasts"])
    lowest = n - 1 if run is on_kernel else n
    assert all(lowest <= a <= n for a in r["answered"]), r["answered"]


@pytest.mark.parametrize("run", RUNTIMES)
@pytest.mark.parametrize("inline", [False, True], ids=["oob", "oobinline"])
def test_oob_interrupt_drops_what_is_pending_before_the_mark(run, inline):
    # The client pauses before the interrupt: the server (200 ms a line) has processed a few
    # lines and has the rest pending when the urgent byte comes.
    r = run("oob", inline, 0.5)
    k = scenarios.check_oob(r["lines"])
    assert ("urgent byte 0xf2" in r["log"]) == (not inline)
    assert 1 <= k < 20
    # Without the pause everything is pending: all of it goes. The kernel's threads may have
    # the server take its first line (200 ms of work) before the rest arrives.
    k = scenarios.check_oob(run("oob", inline, 0.0)["lines"])
    assert k == 0 or (run is on_kernel and k <= 2)


@pytest.mark.parametrize("run", RUNTIMES)
def test_reconnect_client_resumes_after_the_server_restarts(run):
    r = run("reconnect")
    assert r["acked"] == list(range(8))
    assert r["got"] == list(range(8))       # nothing lost, nothing twice here
    assert r["reconnections"] == 1
    log = r["log"]
    assert "lost: the server closed the connection" in log
    # while the server is down: refused, and the backoff doubles between attempts
    refused = [x for x in log[log.index("lost: the server closed the connection"):]
               if x.startswith("connect failed")]
    assert refused and all("[Errno 111]" in x for x in refused), refused
    waits = [float(x.split("retry in ")[1].split()[0]) for x in refused]
    assert waits[:3] == [0.1, 0.2, 0.4]
    assert "connected (2), resuming at 3" in log


@pytest.mark.parametrize("run", RUNTIMES)
def test_reconnect_client_gives_up_on_a_silent_server_and_resumes(run):
    r = run("reconnect_silent")
    assert r["acked"] == [0, 1, 2, 3]
    assert r["got"] == [0, 1, 2, 3]      # MSG 1 went unread on the silent connection
    assert r["reconnections"] == 1
    lost = [x for x in r["log"] if x.startswith("lost: ")]
    # CPython says "timed out"; MicroPython's OSError(ETIMEDOUT) "[Errno 110] ETIMEDOUT"
    assert len(lost) == 1 and ("timed out" in lost[0] or "[Errno 110]" in lost[0]), lost
    assert "connected (2), resuming at 1" in r["log"]
