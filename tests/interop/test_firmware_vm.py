"""The firmware (firmware/main.py) in the MicroPython unix VM, as the virtual board runs it: its
NIC is the `vnic` link (SLIP with the CRC over an AF_UNIX socket, BARENET_VNIC=unix:PATH) to
`barenet bridge --nat`, whose DHCP server gives it its address. Through the bridge's forwards
a host client reads its status page and echoes 1 MB (sha256 checked); the bridge is stopped and
started again (a cable pulled and plugged back) and the board keeps its lease and serves again;
its log on the REPL says each step. No root: the bridge's host side is 127.0.0.1 only."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import urllib.request

import pytest

from procs import Lines, stop
from streams import echo_exchange

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BARENET = os.path.join(os.path.dirname(sys.executable), "barenet")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
BOARD_IP = "192.0.2.15"          # the bridge's DHCP pool of one (--net 192.0.2.0/24)
# The firmware as source: the modules compile in the VM's heap at import, which takes more
# than a board's 192 KB (the .mpy files `barenet flash` writes do not: issue 11 item 8)
HEAP = "1m"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def board(tmp_path):
    cfg = json.load(open(os.path.join(REPO, "boards", "virtual.json")))["config"]
    cfg["board"] = "virtual"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    link = str(tmp_path / "nic.sock")
    http, echo = free_port(), free_port()
    procs = []

    def bridge():
        p = subprocess.Popen([BARENET, "bridge", "--board", "unix:%s,crc" % link, "--nat",
                              "--dns", "127.0.0.1:1", "--nat-allow", "127.0.0.1/32",
                              "--forward", "tcp:127.0.0.1:%d=80" % http,
                              "--forward", "tcp:127.0.0.1:%d=7" % echo,
                              "--ctl", str(tmp_path / "bridge.sock")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        Lines(p).text("barenet: bridge: NAT for the board %s" % BOARD_IP)
        return p

    b = bridge()
    env = dict(os.environ, BARENET_VNIC="unix:" + link, MICROPYPATH=os.pathsep.join(
        [".frozen", os.path.join(REPO, "shared"), os.path.join(REPO, "firmware")]))
    vm = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + HEAP,
                           os.path.join(REPO, "firmware", "main.py")], cwd=str(tmp_path),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(vm)
    try:
        yield Lines(vm), b, bridge, http, echo
    finally:
        for p in reversed(procs):
            stop(p)


def status(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/?format=json" % port, timeout=20) as r:
        return json.loads(r.read())


def echo_mb(port):
    data = hashlib.sha256(b"firmware").digest() * (1 << 15)        # 1 MB
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        return echo_exchange(s, data) == data


@pytest.mark.timeout(300)
def test_the_firmware_takes_a_lease_serves_and_survives_a_replug(board):
    log, bridge, restart, http, echo = board
    log.text("on linux, board virtual")
    log.text("apps ")
    log.text("DHCP: bound %s/24 router 192.0.2.1" % BOARD_IP)
    log.text("mDNS: barenet-virtual.local is %s" % BOARD_IP)     # probed, announced in the VM
    page = status(http)
    assert page["stats"]["tcp"]["rx"] >= 1
    assert echo_mb(echo)
    # the cable: the bridge goes, the board sees its link down, then up again when it is back
    stop(bridge)
    log.text("link down")
    restart()
    log.text("link up")
    assert status(http)["stats"]["tcp"]["rx"] >= 1
    assert echo_mb(echo)
    assert not any("Traceback" in line or "error:" in line for line in log.seen), log.seen
