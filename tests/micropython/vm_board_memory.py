# What the code a board runs costs in RAM (bench/board_memory.py): runs in either MicroPython VM
# from .mpy files and prints one JSON line.
#
#   argv: core                  the heap held after importing each module a firmware imports,
#                               in that order (each figure is what that import added)
#   argv: firmware CONFIG       (the unix VM: it has sockets) firmware/main.py booted from
#                               CONFIG with a UDP tunnel NIC, its loop run for BOOT_MS; then
#                               the heap held and, on a heap of fixed size, the heap free
#
# STEPS yields where it wants a measurement and then reads HEAP: the 32-bit VM's runner
# (mpy32/run.mjs) collects between steps at the top level, the only place its collector frees
# anything; elsewhere the loop at the end does it (as in vm_conn_memory.py).
import gc
import json
import sys

sys.path.append(".frozen")   # the unix VM: MICROPYPATH replaced the path; asyncio is frozen

# What firmware/main.py and its apps pull in, leaves first so that each figure is the module's
# own (a module imported earlier by another is counted there).
CORE = ("barenet.compat", "barenet.ticks", "barenet.addr", "barenet.stats", "barenet.config",
        "barenet.wire.checksum", "barenet.wire.ethernet", "barenet.wire.ipv4",
        "barenet.wire.arp", "barenet.wire.icmp", "barenet.wire.udp", "barenet.wire.tcp",
        "barenet.neighbor", "barenet.icmp", "barenet.ip", "barenet.udp", "barenet.tcp",
        "barenet.iface", "barenet.stack", "barenet.loop", "barenet.dhcp", "barenet.dns",
        "barenet.socket", "barenet.aio")
BOOT_MS = 500

HEAP = 0


def free():
    gc.collect()
    return gc.mem_free()


def core():
    out = {"modules": []}
    yield
    base = prev = HEAP
    for name in CORE:
        before = set(sys.modules)
        __import__(name)
        pulled = sorted(m for m in sys.modules if m not in before and m != name)
        yield
        out["modules"].append((name, HEAP - prev, pulled))
        prev = HEAP
    out["core"] = HEAP - base
    out["from"] = sys.modules["barenet"].__file__     # a file system's path, or /rom/...
    print(json.dumps(out))


def firmware(path):
    import asyncio
    import main
    out = {}
    yield
    base = HEAP
    cfg = main.load(path)
    fw = main.Firmware(cfg, main.Log(cfg.get("log", "warning")))

    async def boot():
        task = asyncio.create_task(fw.run())
        await asyncio.sleep_ms(BOOT_MS)
        task.cancel()

    asyncio.run(boot())
    yield
    out["boot"] = HEAP - base
    out["held"] = HEAP
    out["free"] = free()
    out["apps"] = fw.apps
    print(json.dumps(out))


STEPS = core() if sys.argv[1] == "core" else firmware(sys.argv[2])
if not globals().get("STEPPED"):
    for _ in STEPS:
        gc.collect()
        HEAP = gc.mem_alloc()
