"""ENC28J60 Rev. B7 errata (DS80349): the model reproduces each erratum, the driver's
workaround gets through it, and the same driver with that one workaround taken out (a
subclass with the naive method) fails, so the model's errata behaviour is what is tested."""

import pytest

from barenet_host.vwire import Sim

import chipnet
from chipnet import BOARD_IP, frame_to_board
from drivers.enc28j60 import ENC28J60

pytestmark = pytest.mark.timeout(120)


class EvenERXRDPT(ENC28J60):
    """Frees the receive FIFO up to the next packet pointer itself (even), as 7.2.4 says."""

    def _free_rx(self, next_ptr):
        self._wcr16(0x0C, next_ptr if next_ptr else 0x19FF)


class TrustsPKTIF(ENC28J60):
    """Takes EIR.PKTIF for "a packet is waiting"."""

    def _rx_count(self):
        return 1 if self._rcr(0x1C) & 0x40 else 0


class NoTXReset(ENC28J60):
    """Never pulses ECON1.TXRST."""

    def _tx_reset(self):
        self._bfc(0x1C, 0x0A)


class FIFOAbove0(ENC28J60):
    """Puts the receive FIFO at the top of the buffer, the transmit frame at 0."""
    RX_START = 0x0600
    RX_END = 0x1FFF
    TX_START = 0x0000


def world(driver=None):
    sim = Sim()
    wire = sim.wire()
    model, drv, board = chipnet.board(sim, wire, "enc28j60", driver=driver)
    peer = chipnet.peer(sim, wire)
    return sim, model, drv, peer


def test_odd_erxrdpt_keeps_the_fifo_intact():
    sim, model, drv, peer = world()
    assert chipnet.ping(sim, peer, BOARD_IP, [56] * 5) == [56] * 5
    assert drv.stats["rx_reset"] == 0


def test_even_erxrdpt_corrupts_the_next_packet_pointer():
    sim, model, drv, peer = world(EvenERXRDPT)
    got = chipnet.ping(sim, peer, BOARD_IP, [56] * 5, wait_ms=1000)
    # after the first packet is freed every header is corrupt: the driver can only restart
    assert len(got) < 5 and drv.stats["rx_reset"] >= 2


def queued(driver):
    sim, model, drv, peer = world(driver)
    sim.run(max_ms=100)
    chipnet.read_frames(drv, 10)        # what the bring-up brought
    frames = [frame_to_board(i, 400) for i in range(3)]
    for f in frames:
        model.receive(f)
    return frames, chipnet.read_frames(drv, 5)


def test_epktcnt_finds_every_queued_packet():
    frames, out = queued(None)
    assert out == frames


def test_pktif_loses_packets_that_wait_behind_the_first():
    frames, out = queued(TrustsPKTIF)
    # PKTIF fell with the first PKTDEC though two packets were still in the FIFO
    assert out == frames[:1]


def test_tx_reset_before_each_send_gets_past_an_aborted_transmission():
    sim, model, drv, peer = world()
    assert chipnet.ping(sim, peer, BOARD_IP, [56]) == [56]
    model.collide(1)
    got = chipnet.ping(sim, peer, BOARD_IP, [56] * 4, wait_ms=1500)
    assert model.stats["tx_aborted"] == 1 and drv.stats["tx_abort"] == 1
    assert got == [56] * 3      # the aborted reply is lost; every later one goes out


def test_without_tx_reset_the_transmit_logic_stays_stalled():
    sim, model, drv, peer = world(NoTXReset)
    assert chipnet.ping(sim, peer, BOARD_IP, [56]) == [56]
    model.collide(1)
    assert chipnet.ping(sim, peer, BOARD_IP, [56] * 4, wait_ms=1500) == []
    assert model.tx_stalled and drv.stats["chip_timeout"] > 0


def test_a_fifo_at_0_is_where_the_chip_writes():
    sim, model, drv, peer = world()
    assert chipnet.ping(sim, peer, BOARD_IP, [56]) == [56]
    assert drv.RX_START == 0 and drv.stats["rx_reset"] == 0


def test_a_fifo_elsewhere_is_not_where_the_chip_writes():
    sim, model, drv, peer = world(FIFOAbove0)
    # the first packet went to 0000h, not ERXST: every header the driver reads is nonsense
    assert chipnet.ping(sim, peer, BOARD_IP, [56, 56], wait_ms=1000) == []
    assert drv.stats["rx_reset"] >= 1
