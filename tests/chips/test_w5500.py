"""W5500 specifics: Sn_RX_RSR changes while it is read (the chip receives meanwhile), so the
driver reads it until two reads agree (datasheet 4.2 Sn_RX_RSR); a driver that reads it once
takes a torn value for the truth."""

import pytest

from barenet_host.vwire import Sim

import chipnet
from chipnet import frame_to_board
from drivers.spinic import SPINS
from drivers.w5500 import W5500

pytestmark = pytest.mark.timeout(60)


class ReadsRSROnce(W5500):
    def _rd16_stable(self, addr):
        return self._rd16(addr)


def torn_read(driver):
    sim = Sim()
    model, drv, board = chipnet.board(sim, sim.wire(), "w5500", driver=driver)
    sim.run(max_ms=100)
    chipnet.read_frames(drv, 10)        # what the bring-up brought
    first = frame_to_board(1, 250)      # RSR 252 = 0x00FC
    second = frame_to_board(2, 60)      # then 314 = 0x013A: read torn, 0x003A
    model.receive(first)
    model.arrive_during_rsr_read(second)
    return drv, [first, second], chipnet.read_frames(drv, 4)


def test_rsr_read_until_two_reads_agree():
    drv, sent, out = torn_read(None)
    assert out == sent and drv.stats["drop_rx_bad"] == 0


def test_rsr_read_once_is_torn():
    drv, sent, out = torn_read(ReadsRSROnce)
    # 0x003A is less than the first record's 252 bytes: taken as a broken header
    assert out == [] and drv.stats["drop_rx_bad"] == 1 and drv.stats["rx_reset"] == 1


def test_a_chip_still_sending_costs_a_bounded_wait_and_the_frame_is_counted():
    sim = Sim()
    model, drv, board = chipnet.board(sim, sim.wire(), "w5500")
    sim.run(max_ms=100)
    model.slow_send(SPINS + 10)         # longer than the driver waits for SENDOK
    drv.send(bytes(60))
    spi = model.stats["spi"]
    drv.send(bytes(61))                 # SENDOK of the first has not come
    assert drv.stats["drop_tx_busy"] == 1 and drv.stats["chip_timeout"] == 1
    assert model.stats["spi"] - spi <= SPINS + 5
    model.slow_send(3)                  # a chip that finishes while the driver waits
    for _ in range(20):
        drv.send(bytes(62))
    assert drv.stats["drop_tx_busy"] == 1 and drv.stats["tx"] >= 20
