# `machine` on the virtual board (MicroPython; vboard_shim.py loads it in place of the unix
# port's): the built-in module's names, plus reset() as a board has it. A module, not a proxy
# object, so that `from machine import WDT` fails with ImportError as on the unix port.
from machine import *  # noqa: F401,F403 -- everything the unix port has stays

EXIT_RAW = 10
EXIT_RESET = 12
reset_requested = False


def reset():
    """A power cycle: the shim exits with EXIT_RESET and the launcher starts a fresh VM."""
    global reset_requested
    reset_requested = True
    raise SystemExit(EXIT_RESET)


def soft_reset():
    raise SystemExit(EXIT_RAW)
