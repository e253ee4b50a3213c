"""Acceptance (issue 8, "Slow and idle clients"): 500 idle connections to echo and 200 slowloris
clients on the status page (each sends part of a request head, then a byte a second, and comes
back when cut off) do not keep a real client out: while they are at it, `curl` from another
address is answered within 2 s and a new echo client echoes, again and again.

The attackers come from two extra addresses on the kernel side of the TAP, the idle clients
from 192.0.2.10 and the slowloris clients from 192.0.2.11, while the real clients come from
192.0.2.1: the per-peer limit (app_max_per_peer, 256 on a host) refuses the idle clients past
it without touching the others, and the slowloris clients are cut at the status page's head
deadline (http_head_ms, 10 s) and come back. The whole run is bounded at ATTACK_S.
"""

import json
import subprocess
import sys
import time

import pytest

from conftest import readline

pytestmark = pytest.mark.root

IDLE = 500
SLOW = 200
IDLE_FROM = "192.0.2.10"
SLOW_FROM = "192.0.2.11"
PER_PEER = 256                  # the host profile's app_max_per_peer
ATTACK_S = 25

# argv: host n_idle n_slow seconds idle_from slow_from. Opens the idle and slowloris
# connections from their addresses, prints {"ready": ...} once every first connect has
# resolved, keeps the slowloris clients trickling (and reconnecting) until the time is up, then
# prints the totals.
KERNEL_ATTACK = r"""
import errno, json, resource, select, socket, sys, time
host, n_idle, n_slow, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sources = {7: sys.argv[5], 80: sys.argv[6]}
need = n_idle + n_slow + 256
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), max(hard, need)))
end = time.monotonic() + seconds

def dial(port):
    s = socket.socket()
    s.setblocking(False)
    s.bind((sources[port], 0))
    e = s.connect_ex((host, port))
    assert e in (0, errno.EINPROGRESS), e
    return s

idle = [dial(7) for i in range(n_idle)]
slow = [dial(80) for i in range(n_slow)]
sent = [0] * n_slow           # bytes of the head each slowloris client has sent
# wait until every connect resolved (or 15 s)
pending = {s.fileno(): s for s in idle + slow}
p = select.poll()
for fd in pending:
    p.register(fd, select.POLLOUT)
t = time.monotonic()
while pending and time.monotonic() - t < 15:
    for fd, ev in p.poll(500):
        p.unregister(fd)
        del pending[fd]
connected = sum(1 for s in idle + slow if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
print(json.dumps({"ready": connected, "unresolved": len(pending)}), flush=True)
HEAD = b"GET / HTTP/1.1\r\nHost: barenet\r\nX-Slow: "
cut = reconnects = trickled = 0
while time.monotonic() < end:
    t = time.monotonic()
    for i, s in enumerate(slow):
        try:
            if s.recv(4096, socket.MSG_DONTWAIT) == b"":
                raise ConnectionResetError()
        except BlockingIOError:
            pass
        except OSError:
            # cut off at the head deadline: come back
            cut += 1
            s.close()
            slow[i] = dial(80)
            sent[i] = 0
            reconnects += 1
            continue
        try:
            s.send(HEAD if sent[i] == 0 else b"a", socket.MSG_DONTWAIT)
            sent[i] += 1
            trickled += 1
        except OSError:
            pass               # still connecting, or gone: the next round sees it
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
held = 0
for s in idle:
    try:
        held += s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        held += 1
    except OSError:
        pass
print(json.dumps({"idle_held": held, "slow_cut": cut, "reconnects": reconnects,
                  "trickled": trickled}), flush=True)
"""

# argv: host. One echo exchange from the namespace's main address: how long it took.
KERNEL_ECHO = r"""
import json, socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"are you there?\n")
got = b""
while len(got) < 15:
    d = s.recv(100)
    if not d:
        break
    got += d
s.close()
print(json.dumps({"ok": got == b"are you there?\n", "s": time.monotonic() - t}))
"""


def real_clients_get_through(kernel):
    page = kernel.ns.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w",
                          "%{http_code} %{time_total}", "http://%s/" % kernel.barenet_ip],
                         timeout=30)
    code, took = page.stdout.split()
    echo = kernel.py(KERNEL_ECHO, kernel.barenet_ip, timeout=30)
    assert echo.returncode == 0, echo.stderr
    e = json.loads(echo.stdout)
    return code == "200" and float(took) < 2.0 and e["ok"] and e["s"] < 2.0, (code, took, e)


def test_idle_and_slowloris_clients_leave_room_for_a_real_client(serve, kernel):
    s = serve("--apps", "echo,http")
    for ip in (IDLE_FROM, SLOW_FROM):
        kernel.ns.addr(s.tap, ip + "/24")
    attack = kernel.ns.popen([sys.executable, "-c", KERNEL_ATTACK, kernel.barenet_ip, str(IDLE),
                              str(SLOW), str(ATTACK_S), IDLE_FROM, SLOW_FROM],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(readline(attack.stdout, 30) or "null")
        assert first is not None, attack.stderr.read()
        start = time.monotonic()
        checks = []
        # at once, then after the first slowloris wave is cut at the head deadline and back
        for at in (0, 12, 18):
            time.sleep(max(0.0, start + at - time.monotonic()))
            ok, detail = real_clients_get_through(kernel)
            checks.append(detail)
            assert ok, checks
        out, err = attack.communicate(timeout=ATTACK_S + 30)
    finally:
        if attack.poll() is None:
            attack.kill()
            attack.communicate(timeout=10)
    last = json.loads(out.strip().splitlines()[-1])
    print("attack:", first, last, "real clients:", checks)
    assert first["unresolved"] == 0, first     # every attacker's connect was answered
    status, summary, err = s.stop()
    assert status == 0 and err == "", (status, err)
    print(summary)
    echo = dict(kv.split("=") for kv in summary.split("app_echo7 ")[1].split(";")[0].split())
    http = dict(kv.split("=") for kv in summary.split("app_http80 ")[1].split(";")[0].split())
    assert int(echo["refused_per_peer"]) == IDLE - PER_PEER, summary
    assert last["idle_held"] == PER_PEER, last   # and the other idle clients were refused
    assert int(http["timed_out"]) >= SLOW, summary   # every slowloris head cut at its deadline
    assert last["slow_cut"] >= SLOW, last
