"""RAM on a board (bench/board_memory.py, issue 11 item 8), from .mpy files on both MicroPython
VMs, and from a ROMFS on the x64 one (host/barenet_host/romfs.py). gc.mem_alloc() after gc.collect() is deterministic in a VM, so these are caps on measured
bytes, not timings: each sits a little above today's figure (BENCHMARKS.md, "Memory on
boards"), so that a change that makes a board's import or connections bigger fails here.

The goals not met yet are each a strict xfail below, which fails (XPASS) as soon as
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
# Measured 2026-12-02: the core a firmware imports 172 048 B on the 32-bit VM, 240 896 B on
# the x64 VM; an idle ESTABLISHED connection 992 / 2 017 B beyond its buffers (the goal, met:
# the TCB's constant fields are class defaults, loss recovery comes with the first data);
# the firmware from files (with mDNS) boots on a 384 KB x64 heap with 95 488 B free; 81 696 B
# with TCP timestamps (tcp/timestamps.py). After the merges of the ECN/undo hooks, the one
# is_multicast(), header prediction and PRR/CUBIC's hooks with TCP_CONGESTION (cubic.py,
# prr.py, algorithms.py, ecn.py and undo.py load on first use) and tcp_preload: under 171 KB / 244 896 B.
CORE_CAP = {"wasm": 171 * KB, "unix": 240 * KB}
CONN_CAP = {"wasm": 1 * KB, "unix": 2100}   # wasm: the goal itself
BOOT_HEAP_KB = 384
BOOT_FREE_MIN = 72 * KB
# From a ROMFS (host/barenet_host/romfs.py, bytecode in place), the x64 VM: the core 141 856 B;
# the firmware's boot 186 208 B held in all on 384 KB, and on 192 KB 161 664 B, 32 608 B free
# (the firmware sizes some tables by the heap it finds)
CORE_ROM_CAP = 142 * KB
BOOT_ROM_HELD_CAP = 188 * KB
BOOT_ROM_192_FREE_MIN = 30 * KB
# the goals (issue 11 item 8)
GOAL_CORE = 64 * KB
GOAL_CONN = 1 * KB
GOAL_FREE_192 = 64 * KB


@pytest.fixture(scope="module")
def figures():
    return board_memory.measure(REPO, BOOT_HEAP_KB)


@pytest.fixture(scope="module")
def boot_192():
    return board_memory.measure(REPO, 192, conn=False)["boot_rom"]


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
                 "barenet.tcp.syncookie", "barenet.local"):
        assert lazy not in loaded


def test_a_romfs_runs_the_core_in_place_outside_the_heap(figures):
    # The same .mpy files from a ROMFS hold the heap for what the modules make, not for their
    # bytecode: well under what loading them from a file system holds
    rom, files = figures["core_rom"], figures["core"]["unix"]
    assert rom["from"].startswith("/rom/") and not files["from"].startswith("/rom/")
    assert [m for m, _, _ in rom["modules"]] == [m for m, _, _ in files["modules"]]
    assert 0 < rom["core"] <= CORE_ROM_CAP and rom["core"] < 0.7 * files["core"], (rom, files)


def test_the_firmware_boots_from_a_romfs_with_less_heap(figures):
    b, f = figures["boot_rom"], figures["boot"]
    assert "error" not in b, b
    assert sorted(b["apps"]) == sorted(f["apps"])
    assert b["held"] <= BOOT_ROM_HELD_CAP and b["held"] < f["held"], (b, f)


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


@pytest.mark.xfail(strict=True, reason="goal not met: the core is 168 KB on the 32-bit VM")
def test_goal_the_core_import_is_at_most_64_kb_on_the_32_bit_vm(figures):
    assert figures["core"]["wasm"]["core"] <= GOAL_CORE


def test_goal_an_idle_connection_costs_at_most_1_kb_beyond_its_buffers(figures):
    assert figures["conn"]["wasm"] <= GOAL_CONN


def test_the_firmware_boots_from_a_romfs_on_192_kb(boot_192):
    assert "error" not in boot_192, boot_192
    assert boot_192["free"] >= BOOT_ROM_192_FREE_MIN, boot_192
    assert boot_192["held"] + boot_192["free"] <= 192 * KB


@pytest.mark.xfail(strict=True, reason="goal not met: 32 KB free on 192 KB (x64 VM, ROMFS)")
def test_goal_the_firmware_boots_on_192_kb_with_64_kb_free(boot_192):
    # from a ROMFS, as a board with one runs it: the best case for a board's heap
    assert "error" not in boot_192 and boot_192["free"] >= GOAL_FREE_192, boot_192

