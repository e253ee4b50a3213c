"""RAM on a board (bench/board_memory.py, issue 11 item 8), from .mpy files on both MicroPython
VMs. gc.mem_alloc() after gc.collect() is deterministic in a VM, so these are caps on measured
bytes, not timings: each sits a little above today's figure (BENCHMARKS.md, "Memory on
boards"), so that a change that makes a board's import or connections bigger fails here.

The issue's goals are not met yet; each is a strict xfail below, which fails (XPASS) as soon as
the goal is reached, so that whoever reaches it turns it into a plain test.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench"))
import board_memory  # noqa: E402

KB = 1024
# Measured 2026-12-02: the core a firmware imports 174 096 B on the 32-bit VM, 243 744 B on
# the x64 VM; an idle ESTABLISHED connection 2 689 / 5 409 B beyond its buffers; the firmware
# (with mDNS) boots on a 384 KB x64 heap with 86 368 B free, and not on 320 KB; 81 696 B
# with TCP timestamps (tcp/timestamps.py). PRR's and CUBIC's hooks, TCP_CONGESTION and the
# congestion tunable: 178 368 B (+1 040 B; cubic.py, prr.py and algorithms.py load lazily).
CORE_CAP = {"wasm": 175 * KB, "unix": 245 * KB}
CONN_CAP = {"wasm": 2900, "unix": 5800}
BOOT_HEAP_KB = 384
BOOT_FREE_MIN = 72 * KB
# the goals (issue 11 item 8)
GOAL_CORE = 64 * KB
GOAL_CONN = 1 * KB
GOAL_FREE_192 = 64 * KB


@pytest.fixture(scope="module")
def figures():
    return board_memory.measure(REPO, BOOT_HEAP_KB)


@pytest.fixture(scope="module")
def boot_192():
    return board_memory.measure(REPO, 192, conn=False)["boot"]


@pytest.mark.parametrize("vm", board_memory.VMS)
def test_the_core_import_stays_under_its_cap_and_every_module_is_counted(figures, vm):
    r = figures["core"][vm]
    assert 0 < r["core"] <= CORE_CAP[vm], r["core"]
    assert sum(n for _, n, _ in r["modules"]) == r["core"]
    names = [m for m, _, _ in r["modules"]]
    for m in ("barenet.stack", "barenet.tcp", "barenet.dhcp", "barenet.dns", "barenet.socket",
              "barenet.aio"):
        assert m in names
    assert all(n > 0 for _, n, _ in r["modules"]), r["modules"]


def test_modules_only_some_boards_need_are_not_imported(figures):
    loaded = {m for _, _, pulled in figures["core"]["wasm"]["modules"] for m in pulled}
    loaded |= {m for m, _, _ in figures["core"]["wasm"]["modules"]}
    assert "barenet.tcp" in loaded          # the check sees what the imports pulled in
    for lazy in ("barenet.rawsock", "barenet.unixsock", "barenet.tcp.urgent",
                 "barenet.tcp.syncookie"):
        assert lazy not in loaded


@pytest.mark.parametrize("vm", board_memory.VMS)
def test_an_idle_connection_stays_under_its_cap(figures, vm):
    assert 0 < figures["conn"][vm] <= CONN_CAP[vm], figures["conn"][vm]


def test_the_firmware_boots_from_mpy_files_and_leaves_heap_free(figures):
    b = figures["boot"]
    assert "error" not in b, b
    assert sorted(b["apps"]) == ["chargen:19", "discard:9", "discovery:48879", "echo:7",
                                 "mdns:barenet-mem.local", "status:80"]
    assert b["free"] >= BOOT_FREE_MIN, b
    assert b["held"] + b["free"] <= BOOT_HEAP_KB * KB


@pytest.mark.xfail(strict=True, reason="goal not met: the core is 170 KB on the 32-bit VM")
def test_goal_the_core_import_is_at_most_64_kb_on_the_32_bit_vm(figures):
    assert figures["core"]["wasm"]["core"] <= GOAL_CORE


@pytest.mark.xfail(strict=True, reason="goal not met: 2.7 KB per idle connection")
def test_goal_an_idle_connection_costs_at_most_1_kb_beyond_its_buffers(figures):
    assert figures["conn"]["wasm"] <= GOAL_CONN


@pytest.mark.xfail(strict=True, reason="goal not met: the firmware needs about 384 KB")
def test_goal_the_firmware_boots_on_192_kb_with_64_kb_free(boot_192):
    assert "error" not in boot_192 and boot_192["free"] >= GOAL_FREE_192, boot_192

