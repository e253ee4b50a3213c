# A board for the unchanged firmware (firmware/main.py, its netdev.py and drivers/): the
# chip model its config.json names (link.driver w5500 or enc28j60), soldered to the fake
# machine's SPI bus and pins at the ids the config gives, so that netdev builds them as on a
# board and the real driver talks to the model. The model's Ethernet port is a UDP wire
# (drivers/udp_link.py) to a relay onto a TAP (tests/interop/vm_tunnel.py). Runs in the
# MicroPython VM and on CPython (cpython_port.py).
#
#     fw_board.py CONFIG RELAY_PORT          (RELAY_PORT on 127.0.0.1)
import sys

if sys.implementation.name != "micropython":
    __import__("cpython_port")      # before the firmware's modules

import json
import time

import machine
from drivers.udp_link import UDPLink      # the runtime's own socket, before install()

import chipnet

path, relay_port = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    link = json.load(f)["link"]
chip = chipnet.MODELS[link["driver"]]()
wire = UDPLink("127.0.0.1", relay_port)
chip.attach(wire)
wire.poll(time.ticks_ms())     # it speaks first, so the relay knows where the chip is
machine.solder(chip, link["spi"]["id"], link["cs"], link.get("int"))

import main  # noqa: E402

sys.exit(main.main(path))
