# Runs in the MicroPython VM: each unchanged driver on its chip model (fake machine.SPI/Pin)
# under a barenet stack, against a second stack on the virtual wire: pings and a TCP
# transfer each way; prints JSON results. argv: transfer size in bytes.
import sys
import json
import select

from barenet_host.vwire import Sim

import chipnet

size = int(sys.argv[1])
out = {}
for chip in ("w5500", "enc28j60"):
    sim = Sim()
    wire = sim.wire()
    model, drv, board = chipnet.board(sim, wire, chip)
    peer = chipnet.peer(sim, wire)
    r = {"ping": chipnet.ping(sim, peer, chipnet.BOARD_IP, [56, 1472])}
    got, sha_in, sha_out = chipnet.tcp_transfer(sim, peer, board, chipnet.BOARD_IP, size)
    r["down"] = [got, sha_in == sha_out]
    got, sha_in, sha_out = chipnet.tcp_transfer(sim, board, peer, chipnet.PEER_IP, size, port=5002)
    r["up"] = [got, sha_in == sha_out]
    r["wrapped"] = model.stats["rx_wrapped"]
    r["drop_rx_bad"] = drv.stats["drop_rx_bad"]
    # the runtime's own select.poll wakes on the INT pin through drv.waitable
    p = select.poll()
    p.register(drv.waitable, select.POLLIN)
    buf = bytearray(1514)
    while drv.recv_into(buf):
        pass
    idle = p.poll(0)
    model.receive(chipnet.frame_to_board(7, 100))
    ready = p.poll(0)
    n = drv.recv_into(buf)
    drv.recv_into(buf)
    r["poll"] = [len(idle), len(ready), n, len(p.poll(0))]
    out[chip] = r
print(json.dumps(out))
