"""The chip models catch a driver that uses the chip wrongly: each case is a transaction the
datasheet forbids (or one the model does not implement), made through the driver's own
SPI helpers or a subclass with the mistake, and the model raises ModelError."""

import pytest

from barenet_host.vwire import Sim

import chipnet
from drivers.w5500 import W5500
from drivers.enc28j60 import ENC28J60
from spichip import ModelError

pytestmark = pytest.mark.timeout(60)


def chip(name, driver=None):
    sim = Sim()
    return chipnet.chip_and_driver(name, sim.wire().nic(), driver=driver)


class NoWaitForCommand(W5500):
    """Writes Sn_CR and moves on without waiting for the chip to clear it."""

    def _command(self, cmd):
        self._wr8(0x01, cmd)
        return True


def test_w5500_command_before_the_last_one_was_accepted():
    _, d = chip("w5500", NoWaitForCommand)      # OPEN, not waited for
    with pytest.raises(ModelError, match="before the chip accepted"):
        d.send(bytes(60))                       # SEND


@pytest.mark.parametrize("what, call, match", [
    ("reserved common register", lambda d: d._wr8(0x0030, 1, 0), "reserved common"),
    ("read-only VERSIONR", lambda d: d._wr8(0x0039, 5, 0), "read-only common"),
    ("reserved MR bit", lambda d: d._wr8(0x0000, 0x01, 0), "reserved bits"),
    ("read-only Sn_SR", lambda d: d._wr8(0x03, 0), "read-only socket"),
    ("reserved socket register", lambda d: d._rd8(0x17), "reserved socket"),
    ("reserved block select", lambda d: d._rd8(0x00, 0x04), "reserved block"),
    ("bad buffer size", lambda d: d._wr8(0x1E, 3, 5), "buffer size"),
    ("RX read beyond Sn_RX_RSR", lambda d: d._xfer(0, 0x03, bytearray(4), False), "beyond"),
    ("write into RX memory", lambda d: d._xfer(0, 0x03, b"x", True), "wrote into the RX"),
    ("socket without memory", lambda d: d._xfer(0, 0x06, b"x", True), "no TX memory"),
])
def test_w5500_model_refuses(what, call, match):
    _, d = chip("w5500")
    with pytest.raises(ModelError, match=match):
        call(d)


def test_spi_clocked_without_chip_select():
    _, d = chip("w5500")
    with pytest.raises(ModelError, match="chip select is high"):
        d.spi.write(b"\x00\x00\x00")


@pytest.mark.parametrize("what, call, match", [
    ("BFS on a MAC register", lambda d: (d._select(0xC0), d._bfs(0x00, 1)), "ETH registers only"),
    ("write to EPKTCNT", lambda d: d._wcr(0x39, 0), "read-only"),
    ("PKTDEC with no packet", lambda d: d._bfs(0x1E, 0x40), "EPKTCNT at 0"),
    ("ERXST while RXEN", lambda d: d._wcr(0x08, 0), "while ECON1.RXEN"),
    ("reserved register", lambda d: d._rcr(0x01 | 0x40 | 0x80), "reserved or not modelled"),
    ("reserved opcode", lambda d: d._op(0xC0, 0, 0), "reserved"),
    ("WBM into the RX FIFO", lambda d: (d._wcr16(0x02, 0x0100), d._buffer(0x7A, b"x", True)),
     "inside the receive FIFO"),
    ("reserved PHY register", lambda d: d._phy_read(0x05), "PHY register"),
])
def test_enc28j60_model_refuses(what, call, match):
    _, d = chip("enc28j60")
    with pytest.raises(ModelError, match=match):
        call(d)


class DuplexMismatch(ENC28J60):
    """Sets MACON3.FULDPX but leaves the PHY in half duplex."""

    def _phy_write(self, addr, v):
        ENC28J60._phy_write(self, addr, v & ~0x0100 if addr == 0 else v)


def test_enc28j60_mac_and_phy_duplex_must_match():
    m, d = chip("enc28j60", DuplexMismatch)
    with pytest.raises(ModelError, match="FULDPX"):
        d.__class__.__init__(d, d.spi, d.cs, d.mac, full_duplex=True)
        d.link_up = True
        d.send(bytes(60))
