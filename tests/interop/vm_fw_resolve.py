# Runs in the MicroPython VM: the firmware (firmware/main.py's Firmware, from config.json)
# with a user's program beside it on the board's asyncio, as its docstring promises. Once
# DHCP has bound, the program's socket.getaddrinfo (barenet's: the firmware installed it)
# resolves each name through the server the lease named. Prints one JSON line among the
# firmware's log lines, then ends. argv: CONFIG NAME...
import asyncio
import json
import sys

import main
from log import Log

cfg = main.load(sys.argv[1])
fw = main.Firmware(cfg, Log(cfg.get("log", "info")))


async def user():
    while fw.address() is None:
        await asyncio.sleep_ms(100)
    import socket        # barenet.socket, since Firmware.run's install()
    out = {}
    for name in sys.argv[2:]:
        try:
            out[name] = sorted(set(a[-1][0] for a in socket.getaddrinfo(name, 80)))
        except OSError as e:        # barenet.socket.gaierror: (EAI code, message)
            out[name] = e.args[0]
    print(json.dumps({"names": out, "resolver": fw.stack.resolver.stats}))


async def board():
    asyncio.create_task(fw.run())
    await user()


asyncio.run(board())
