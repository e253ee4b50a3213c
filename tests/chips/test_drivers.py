"""The unchanged drivers (firmware/drivers/w5500.py, enc28j60.py) on their register-level chip
models, each under a barenet stack that talks to a second barenet stack on a virtual wire,
beyond the acceptance cases (acceptance.py, run here and in the VM): 200 KB of TCP each way
byte-exact through the RX ring's wrap, a full RX memory (the chip drops and counts, the
driver delivers what was stored intact), an impossible RX header, and the INT pin keeping an
idle chip off the SPI bus."""

import pytest

from barenet_host.vwire import Sim
from drivers.w5500 import W5500

import chipnet
from chipnet import BOARD_IP, PEER_IP, frame_to_board

CHIPS = ("w5500", "enc28j60")
RING = {"w5500": 16384, "enc28j60": 0x1A00}

pytestmark = pytest.mark.timeout(120)


def world(chip, irq=True, **kw):
    sim = Sim()
    wire = sim.wire()
    model, drv, board = chipnet.board(sim, wire, chip, irq=irq, **kw)
    peer = chipnet.peer(sim, wire)
    return sim, wire, model, drv, board, peer


@pytest.mark.parametrize("chip", CHIPS)
def test_200kb_each_way_byte_exact_through_the_rx_ring_wrap(chip):
    sim, _, model, drv, board, peer = world(chip)
    got, sha_in, sha_out = chipnet.tcp_transfer(sim, peer, board, BOARD_IP, 200000)
    assert (got, sha_in) == (200000, sha_out)
    got, sha_in, sha_out = chipnet.tcp_transfer(sim, board, peer, PEER_IP, 200000, port=5002)
    assert (got, sha_in) == (200000, sha_out)
    # frames were stored across the end of the RX memory and read back whole
    assert model.stats["rx_wrapped"] >= 200000 // RING[chip] // 2
    assert drv.stats["drop_rx_bad"] == drv.stats["rx_reset"] == 0


@pytest.mark.parametrize("chip", CHIPS)
def test_full_rx_memory_drops_are_counted_and_stored_frames_come_out_intact(chip):
    sim, _, model, drv, board, peer = world(chip)
    sim.run(max_ms=100)
    # the board does not read while 40 frames of 1000 bytes arrive: more than the RX memory
    sent = [frame_to_board(i, 1000) for i in range(40)]
    for f in sent:
        model.receive(f)
    stored = model.stats["rx"] - (drv.stats["rx"])
    dropped = model.stats["rx_overflow"]
    assert dropped > 0 and stored + dropped >= 40
    out = chipnet.read_frames(drv, 60)
    assert out == sent[:len(out)] and len(out) == 40 - dropped
    if chip == "enc28j60":      # EIR.RXERIF says so; the W5500 has no such flag
        sim.run(max_ms=300)
        assert drv.stats["rx_overflow"] == 1
    # the chip has room again: the stacks talk as before
    assert chipnet.ping(sim, peer, BOARD_IP, [56, 1000]) == [56, 1000]


@pytest.mark.parametrize("chip", CHIPS)
def test_with_an_int_pin_an_idle_chip_is_left_alone(chip):
    sim, _, model, drv, board, peer = world(chip)
    sim.run(max_ms=100)
    buf = bytearray(1514)
    assert drv.recv_into(buf) == 0
    spi = model.stats["spi"]
    for _ in range(20):
        assert drv.recv_into(buf) == 0
    assert model.stats["spi"] == spi         # no INT edge: no SPI traffic
    model.receive(frame_to_board(3, 200))    # INT falls: the handler raises the flag
    assert drv.recv_into(buf) == 200 and model.stats["spi"] > spi


@pytest.mark.parametrize("chip", CHIPS)
def test_without_an_int_pin_the_loop_keeps_a_step_due(chip):
    sim, _, model, drv, board, peer = world(chip, irq=False)
    sim.run(max_ms=100)
    wait = drv.poll(sim.now)
    assert wait is not None and 0 < wait <= 5
    model.receive(frame_to_board(4, 300))
    buf = bytearray(1514)
    assert drv.recv_into(buf) == 300


def corrupt_next_record(chip, model):
    """Make the header of the next frame the driver will read impossible (as a chip that lost
    its pointers would show it): a length past what was received / an odd next pointer."""
    if chip == "w5500":
        s = model.sockets[0]
        at = s.rx_rd % 16384
        model.rxmem[at] = 0x7F
    else:
        nxt = model.banks[0][0x0C] + 1      # the driver freed up to the byte before it
        model.mem[nxt % 0x1A00] ^= 0x01


@pytest.mark.parametrize("chip", CHIPS)
def test_an_impossible_rx_header_restarts_the_chip_and_traffic_recovers(chip):
    sim, _, model, drv, board, peer = world(chip)
    assert chipnet.ping(sim, peer, BOARD_IP, [56]) == [56]
    model.receive(frame_to_board(5, 300))
    corrupt_next_record(chip, model)
    buf = bytearray(1514)
    assert drv.recv_into(buf) == 0
    assert drv.stats["drop_rx_bad"] == 1 and drv.stats["rx_reset"] == 1
    assert chipnet.ping(sim, peer, BOARD_IP, [56, 1472]) == [56, 1472]


class NoAckW5500(W5500):
    """Leaves Sn_IR.RECV set, so INTn stays low and the next frames make no edge."""

    def _ack_rx(self):
        pass


def test_an_int_pin_left_low_is_seen_at_the_next_poll():
    sim = Sim()
    model, drv, board = chipnet.board(sim, sim.wire(), "w5500", driver=NoAckW5500)
    sim.run(max_ms=100)
    buf = bytearray(1514)
    model.receive(frame_to_board(1, 100))
    assert drv.recv_into(buf) == 100 and drv.recv_into(buf) == 0
    model.receive(frame_to_board(2, 120))       # INTn was low already: no edge
    assert drv.recv_into(buf) == 0
    drv.poll(sim.now)                           # the pin's level raises the flag
    assert drv.recv_into(buf) == 120
