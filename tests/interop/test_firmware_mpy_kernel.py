"""The firmware as a board runs it: firmware/ and the core compiled by mpy-cross to .mpy files
(the virtual board's `mpy_arch`, boards/virtual.json), in the MicroPython unix VM with a heap
it now serves four connections in (HEAP; issue 11 item 8 asks for 192 KB). Its link is `vnic`
(SLIP with the CRC over an AF_UNIX socket, or over a pty) to `barenet bridge` in kernel mode,
whose TUN is in a netns where Debian's dnsmasq serves DHCP. The board takes the lease; the kernel pings it, curls its status page,
echoes 1 MB through it (sha256 checked) and holds four echo connections at once. The board's
log gives its free heap after boot and under that load (BENCHMARKS.md records them). Then the
four peers vanish (their resets lost on a down link) and a new one is still served."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from procs import Lines, banner, stop
from test_dhcp_dns_kernel import start_dnsmasq
from test_firmware_kernel import reaches

from barenet_host.netns import unique_name

pytestmark = pytest.mark.root

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "micropython"))
import mpy32  # noqa: E402

BARENET = os.path.join(os.path.dirname(sys.executable), "barenet")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
# Not yet 192 KB: on this 64-bit VM the firmware's and the core's modules alone take 281 KB of
# heap once imported (BENCHMARKS.md), and at 448 or 512 KB the four connections do not always
# all open (refused for want of heap). Lower this as the core's import cost comes down.
HEAP = "640k"
LOCAL, BOARD = "192.0.2.1", "192.0.2.2"
OTHER = "192.0.2.3"      # the kernel's second address, for a client after the vanished ones
# Four echo connections held open at once, each with 16 KB echoed, so that each holds its
# buffers; it says "held" and keeps them until its stdin closes
HOLD = r"""
import socket, struct, sys
conns = [socket.create_connection((sys.argv[1], 7), timeout=60) for _ in range(4)]
for c in conns:
    data = bytes(range(256)) * 64
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        got += c.recv(65536)
    assert got == data
print("held", flush=True)
sys.stdin.read()
for c in conns:     # vanish: an RST each (SO_LINGER 0), which the test's down link drops
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
"""


def compiled(dst):
    """The board's files: -> its MICROPYPATH (the firmware's modules, then the core's)."""
    arch = json.load(open(os.path.join(REPO, "boards", "virtual.json")))["mpy_arch"]
    mpy32.compile_tree(os.path.join(REPO, "shared", "barenet"), dst, march=arch)
    mpy32.compile_tree(os.path.join(REPO, "firmware"), dst, march=arch)
    return os.pathsep.join([".frozen", os.path.join(dst, "firmware"), dst])


def heap_free(line):
    return int(re.search(r"heap free (\d+)", line).group(1))


@pytest.mark.timeout(400)
@pytest.mark.parametrize("vnic", ["unix", "pty"])
def test_mpy_firmware_on_a_small_heap_takes_a_dnsmasq_lease_and_serves_the_kernel(netns,
                                                                                 tmp_path, vnic):
    path = compiled(str(tmp_path / "mpy"))
    cfg = json.load(open(os.path.join(REPO, "boards", "virtual.json")))["config"]
    cfg["board"] = "virtual"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    link = str(tmp_path / "nic.sock")
    tun = unique_name("fir")
    procs = []
    try:
        spec = "unix:%s,crc" % link if vnic == "unix" else "pty,crc"
        bridge = netns.popen([BARENET, "bridge", "--board", spec, "--tun", tun,
                              "--local", LOCAL, "--peer", BOARD, "--ctl",
                              str(tmp_path / "bridge.sock")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(bridge)
        line = banner(bridge, "barenet: bridge: board %s on %s" % (BOARD, vnic))
        if vnic == "pty":
            link = re.search(r"\((/dev/pts/\d+)\)", line).group(1)
        procs.append(start_dnsmasq(netns, tmp_path, "--interface=" + tun,
                                   "--except-interface=lo",
                                   "--dhcp-range=%s,%s,255.255.255.0,120s" % (BOARD, BOARD),
                                   "--dhcp-leasefile=%s" % (tmp_path / "leases")))
        env = dict(os.environ, BARENET_VNIC=("unix:" if vnic == "unix" else "") + link, MICROPYPATH=path)
        vm = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + HEAP, "-c",
                               "import main; main.main()"], cwd=str(tmp_path), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(vm)
        log = Lines(vm)
        log.text("on linux, board virtual")
        log.text("mdns:barenet-virtual.local")
        line = log.text("DHCP: bound %s/24" % BOARD, timeout_s=60)
        assert "lease 120 s from %s" % LOCAL in line, line
        booted = heap_free(log.text("address %s/24, heap free" % BOARD))
        reaches(netns, BOARD)
        assert BOARD in (tmp_path / "leases").read_text()
        hold = netns.popen([sys.executable, "-c", HOLD, BOARD], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(hold)
        banner(hold, "held")
        # the count is sampled each second, and may include TIME_WAIT records of before
        loaded = heap_free(log.until(lambda x: re.search(r"tcp connections ([4-9]|\d\d)", x),
                                     "4 or more tcp connections"))
        print("heap free on %s: %d after boot, %d with 4 connections" % (HEAP, booted, loaded))
        assert 0 < loaded < booted
        # The four peers vanish (the kernel's link is down while they reset): the board still
        # holds their connections, the echo app's all four (app_max_conns), and a newcomer
        # from another address gets the one idle longest (apps/server.py). From the same
        # address it would be refused until app_idle_ms, its share (app_max_per_peer) held.
        netns.ip("link", "set", tun, "down")
        _, err = hold.communicate("", timeout=30)
        assert hold.returncode == 0, err
        netns.ip("link", "set", tun, "up")
        time.sleep(1.5)      # the held ones idle past app_evict_idle_ms (1 s, config.py)
        data = bytes(range(256)) * 256
        netns.ip("addr", "add", OTHER + "/32", "dev", "lo")
        netns.up("lo")
        r = netns.run(["nc", "-N", "-w", "30", "-s", OTHER, BOARD, "7"], input=data, text=False,
                      timeout=60)
        assert r.stdout == data, len(r.stdout)
        st = netns.run(["curl", "-s", "-m", "30", "http://%s/?format=json" % BOARD], timeout=60)
        echo = json.loads(st.stdout)["stats"]["app_echo7"]
        assert echo["evicted_idle"] == 1 and "refused_per_peer" not in echo, echo
        assert not any("Traceback" in x or "error:" in x for x in log.seen), log.seen
    finally:
        for p in reversed(procs):
            stop(p)
