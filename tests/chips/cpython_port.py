"""The MicroPython names that firmware/ uses, given to CPython, so that the unchanged firmware
runs there too (fw_board.py): a port of our own, for tests. Imported before the firmware:
log.py takes time.ticks_ms as a default at import.

CPython has no fixed heap to report: gc.mem_free() is 0, and the figures that matter are the
MicroPython VM's (test_firmware_mpy_kernel.py)."""

import asyncio
import gc
import time

from barenet import ticks
from barenet_host.runner import now_ms

time.ticks_ms = now_ms          # reduced to MicroPython's wrapping period (barenet/ticks.py)
time.ticks_diff = ticks.diff
time.ticks_add = ticks.add


def _sleep_ms(ms):
    time.sleep(ms / 1000)


async def _asleep_ms(ms):
    await asyncio.sleep(ms / 1000)


time.sleep_ms = _sleep_ms
asyncio.sleep_ms = _asleep_ms
gc.mem_free = lambda: 0
