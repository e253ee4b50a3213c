"""`barenet bridge --board pty --tun NAME --local 192.0.2.1 --peer 192.0.2.2` (issue 10 item 5,
kernel mode) in a namespace: the bridge makes the point-to-point TUN there and relays between
it and the pty; on the pty's other end a barenet board (`barenet serve --dev serial:/dev/pts/N`,
its status page and TCP echo) speaks SLIP. Kernel ping, curl of the status page and a 1 MB nc
echo (sha256) reach the board, with and without the CRC option, and with link faults on.
Once more with the board's core in the real MicroPython VM (tests/micropython/
vm_bridge_board.py), on the bridge's unix:PATH board side.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

from procs import banner, stop

from barenet_host.netns import unique_name

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BARENET = os.path.join(os.path.dirname(sys.executable), "barenet")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
LOCAL, PEER = "192.0.2.1", "192.0.2.2"
DATA = hashlib.sha256(b"kernel to board").digest() * (1 << 15)     # 1 MB


def kernel_reaches(netns, tmp_path, faults=None):
    """Kernel ping, curl of the status page, a 1 MB nc echo: all reach the board."""
    r = netns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", PEER], timeout=30)
    # With faults a ping may be lost (1 % each way); without, none may
    assert r.returncode == 0 and (faults or " 0% packet loss" in r.stdout), r.stdout
    r = netns.run(["curl", "-s", "-m", "60", "--retry", "3",
                   "http://%s/?format=json" % PEER], timeout=200)
    assert r.returncode == 0, r.stderr
    assert "tcp" in json.loads(r.stdout)["stats"]
    r = netns.run(["nc", "-N", "-w", "60", PEER, "7"], input=DATA, text=False, timeout=280)
    assert len(r.stdout) == len(DATA) and \
        hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(DATA).hexdigest()
    ctl = netns.run([BARENET, "ctl", "stats", "--ctl", str(tmp_path / "bridge.sock"),
                     "--json"], check=True)
    relay = json.loads(ctl.stdout)["stats"]["relay"]
    assert relay["a_to_b"] > 700 and relay["b_to_a"] > 700     # 1 MB in ~1 KB frames
    table = netns.run([BARENET, "ctl", "ifaces", "--ctl", str(tmp_path / "bridge.sock")],
                      check=True).stdout
    assert "kernel tun:" in table and "192.0.2.1" in table
    # kernel mode has no stack: each table it lacks says where to look, exit status 1
    for what, hint in (("conns", "ss -t"), ("arp", "ip neigh"), ("routes", "ip route"),
                       ("nat", "bridge --nat")):
        r = netns.run([BARENET, "ctl", what, "--ctl", str(tmp_path / "bridge.sock")])
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and hint in r.stderr, r.stderr


def start_bridge(netns, tmp_path, board, faults=None):
    tun = unique_name("b")
    cmd = [BARENET, "bridge", "--board", board, "--tun", tun, "--local", LOCAL,
           "--peer", PEER, "--ctl", str(tmp_path / "bridge.sock")]
    if faults:
        cmd += ["--faults", faults]
    return netns.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("crc,faults", [(False, None), (True, None),
                                        (True, "loss=0.01,dup=0.01,reorder=0.01,seed=5")],
                         ids=["plain", "crc", "crc-faults"])
def test_kernel_reaches_the_board_through_the_bridge(netns, tmp_path, crc, faults):
    opt = ",crc" if crc else ""
    bridge = start_bridge(netns, tmp_path, "pty" + opt, faults)
    procs = [bridge]
    try:
        line = banner(bridge, "barenet: bridge: board 192.0.2.2 on pty")
        pts = re.search(r"\((/dev/pts/\d+)\)", line).group(1)
        board = subprocess.Popen(
            [BARENET, "serve", "--dev", "serial:%s%s" % (pts, opt), "--ip", PEER + "/24",
             "--apps", "echo,http", "--ctl", str(tmp_path / "board.sock")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(board)
        banner(board, "barenet: serving")
        kernel_reaches(netns, tmp_path, faults)
    finally:
        for p in reversed(procs):
            stop(p)


@pytest.mark.timeout(600)
def test_kernel_reaches_a_micropython_vm_board_through_the_bridge(netns, tmp_path):
    path = str(tmp_path / "board.sock")
    bridge = start_bridge(netns, tmp_path, "unix:%s,crc" % path)
    procs = [bridge]
    try:
        banner(bridge, "barenet: bridge: board 192.0.2.2 on unix:")
        env = dict(os.environ, MICROPYPATH=os.pathsep.join(
            [".frozen", os.path.join(REPO, "shared"), os.path.join(REPO, "firmware"),
             os.path.join(REPO, "tests", "micropython")]))
        vm = subprocess.Popen([MICROPYTHON, os.path.join(REPO, "tests", "micropython",
                                                         "vm_bridge_board.py"),
                               path, "crc", "500"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(vm)
        banner(vm, "up")
        kernel_reaches(netns, tmp_path)
        netns.run(["python3", "-c", "import socket; socket.socket(socket.AF_INET, "
                   "socket.SOCK_DGRAM).sendto(b'stop', ('%s', 9))" % PEER], check=True)
        out, err = vm.communicate(timeout=30)
        r = json.loads(out)
        assert r["drop_internal_error"] == 0 and r["tcp"]["established"] >= 2, r
    finally:
        for p in reversed(procs):
            stop(p)
