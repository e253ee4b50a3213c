"""The register facts the drivers and the chip models share, pinned to the datasheet values
typed here from the datasheets themselves (W5500 v1.0.9; ENC28J60 DS39662E; errata DS80349
rev. C), so that a wrong fact shared by a driver and its model, which passes every other
test, fails here. The drivers' private constants are module attributes on CPython only."""

import pytest

from drivers import enc28j60 as enc
from drivers import w5500 as wiz
from enc28j60_model import ENC28J60Model
from w5500_model import W5500Model

W5500 = [
    # 2.2 SPI frame: control byte BSB[4:0] RWB OM[1:0]; BSB of socket 0 regs/TX/RX
    ("_RWB", 0x04, "2.2"), ("_S0_REG", 0x01, "2.2.2"), ("_S0_TX", 0x02, "2.2.2"),
    ("_S0_RX", 0x03, "2.2.2"),
    # 4.1 common registers
    ("_MR", 0x0000, "4.1"), ("_MR_RST", 0x80, "4.1 MR"), ("_SHAR", 0x0009, "4.1"),
    ("_SIMR", 0x0018, "4.1"), ("_PHYCFGR", 0x002E, "4.1"), ("_PHY_LNK", 0x01, "4.1 PHYCFGR"),
    ("_VERSIONR", 0x0039, "4.1"), ("_VERSION", 0x04, "4.1 VERSIONR"),
    # 4.2 socket registers
    ("_Sn_MR", 0x00, "4.2"), ("_MACRAW", 0x04, "4.2 Sn_MR P[3:0]"), ("_MFEN", 0x80, "4.2 Sn_MR"),
    ("_Sn_CR", 0x01, "4.2"), ("_OPEN", 0x01, "4.2 Sn_CR"), ("_CLOSE", 0x10, "4.2 Sn_CR"),
    ("_SEND", 0x20, "4.2 Sn_CR"), ("_RECV", 0x40, "4.2 Sn_CR"), ("_Sn_IR", 0x02, "4.2"),
    ("_IR_SENDOK", 0x10, "4.2 Sn_IR"), ("_IR_RECV", 0x04, "4.2 Sn_IR"), ("_Sn_SR", 0x03, "4.2"),
    ("_SOCK_MACRAW", 0x42, "4.2 Sn_SR"), ("_Sn_RXBUF_SIZE", 0x1E, "4.2"),
    ("_Sn_TXBUF_SIZE", 0x1F, "4.2"), ("_Sn_TX_FSR", 0x20, "4.2"), ("_Sn_TX_WR", 0x24, "4.2"),
    ("_Sn_RX_RSR", 0x26, "4.2"), ("_Sn_RX_RD", 0x28, "4.2"), ("_Sn_IMR", 0x2C, "4.2"),
]

ENC28J60 = [
    # 4.2 Table 4-1 SPI instruction set
    ("_RCR", 0x00, "4.2"), ("_RBM", 0x3A, "4.2"), ("_WCR", 0x40, "4.2"), ("_WBM", 0x7A, "4.2"),
    ("_BFS", 0x80, "4.2"), ("_BFC", 0xA0, "4.2"), ("_SRC", 0xFF, "4.2"),
    # 3.1 Table 3-1 / 3-2: address | bank << 5 (| 0x80 MAC/MII)
    ("_EIE", 0x1B, "3.1"), ("_EIR", 0x1C, "3.1"), ("_ESTAT", 0x1D, "3.1"),
    ("_ECON2", 0x1E, "3.1"), ("_ECON1", 0x1F, "3.1"), ("_ERDPTL", 0x00, "3.1"),
    ("_EWRPTL", 0x02, "3.1"), ("_ETXSTL", 0x04, "3.1"), ("_ETXNDL", 0x06, "3.1"),
    ("_ERXSTL", 0x08, "3.1"), ("_ERXNDL", 0x0A, "3.1"), ("_ERXRDPTL", 0x0C, "3.1"),
    ("_ERXFCON", 0x20 | 0x18, "3.1 bank 1"), ("_EPKTCNT", 0x20 | 0x19, "3.1 bank 1"),
    ("_MACON1", 0x80 | 0x40 | 0x00, "3.1 bank 2"), ("_MACON3", 0x80 | 0x40 | 0x02, "bank 2"),
    ("_MACON4", 0x80 | 0x40 | 0x03, "bank 2"), ("_MABBIPG", 0x80 | 0x40 | 0x04, "bank 2"),
    ("_MAIPGL", 0x80 | 0x40 | 0x06, "bank 2"), ("_MAIPGH", 0x80 | 0x40 | 0x07, "bank 2"),
    ("_MAMXFLL", 0x80 | 0x40 | 0x0A, "bank 2"), ("_MICMD", 0x80 | 0x40 | 0x12, "bank 2"),
    ("_MIREGADR", 0x80 | 0x40 | 0x14, "bank 2"), ("_MIWRL", 0x80 | 0x40 | 0x16, "bank 2"),
    ("_MIRDL", 0x80 | 0x40 | 0x18, "bank 2"), ("_MAADR", 0x80 | 0x60 | 0x00, "3.1 bank 3"),
    ("_MISTAT", 0x80 | 0x60 | 0x0A, "bank 3"), ("_EREVID", 0x60 | 0x12, "bank 3"),
    # Registers 3-1, 3-2, 12-1..12-3 bits
    ("_ECON1_TXRST", 0x80, "Register 3-2"), ("_ECON1_TXRTS", 0x08, "Register 3-2"),
    ("_ECON1_RXEN", 0x04, "Register 3-2"), ("_ECON2_AUTOINC", 0x80, "Register 3-1"),
    ("_ECON2_PKTDEC", 0x40, "Register 3-1"), ("_EIE_INTIE", 0x80, "Register 12-1"),
    ("_EIE_PKTIE", 0x40, "Register 12-1"), ("_EIR_TXIF", 0x08, "Register 12-2"),
    ("_EIR_TXERIF", 0x02, "Register 12-2"), ("_EIR_RXERIF", 0x01, "Register 12-2"),
    ("_ESTAT_CLKRDY", 0x01, "Register 12-3"), ("_ESTAT_TXABRT", 0x02, "Register 12-3"),
    ("_MISTAT_BUSY", 0x01, "Register 3-4"), ("_MICMD_MIIRD", 0x01, "Register 3-3"),
    # 3.3 Table 3-3 PHY registers and bits
    ("_PHCON1", 0x00, "3.3"), ("_PHCON1_PDPXMD", 0x0100, "Register 3-5"),
    ("_PHCON2", 0x10, "3.3"), ("_PHCON2_HDLDIS", 0x0100, "Register 3-6"),
    ("_PHSTAT2", 0x11, "3.3"), ("_PHSTAT2_LSTAT", 0x0400, "Register 3-7"),
    # 7.2.2 Table 7-3: RSV bit 23 Received OK = bit 7 of the status byte
    ("_RSV_OK", 0x80, "Table 7-3"), ("_FCS", 4, "7.2.2 Figure 7-3"),
]


@pytest.mark.parametrize("name, value, section", W5500, ids=[r[0] for r in W5500])
def test_w5500_driver_constant_is_the_datasheet_value(name, value, section):
    assert getattr(wiz, name) == value, "W5500 datasheet %s: %s" % (section, name)


@pytest.mark.parametrize("name, value, section", ENC28J60, ids=[r[0] for r in ENC28J60])
def test_enc28j60_driver_constant_is_the_datasheet_value(name, value, section):
    assert getattr(enc, name) == value, "ENC28J60 DS39662E %s: %s" % (section, name)


def test_enc28j60_mac_address_byte_order_and_buffer_layout():
    # 3.1 Table 3-2: MAADR1 (first byte on the wire) at bank 3 0x04, MAADR2 0x05, MAADR3
    # 0x02, MAADR4 0x03, MAADR5 0x00, MAADR6 0x01
    assert enc._MAADR_ORDER == (4, 5, 2, 3, 0, 1)
    # erratum 5: the receive FIFO at 0; 8 KB in all (3.2); the transmit frame after it
    assert enc.ENC28J60.RX_START == 0 and enc.ENC28J60.TX_START == enc.ENC28J60.RX_END + 1
    # room for the control byte, a 1514-byte frame and the 7-byte status vector (7.1)
    assert 0x2000 - enc.ENC28J60.TX_START >= 1 + 1514 + 7


def test_the_models_reset_values_are_the_datasheets():
    m = ENC28J60Model()
    # Table 11-1 / 3-2 reset values
    assert m.banks[1][0x18] == 0xA1                   # ERXFCON: UCEN CRCEN BCEN
    assert m.banks[2][0x0A] | m.banks[2][0x0B] << 8 == 0x0600     # MAMXFL 1536
    assert m.banks[0][0x0A] | m.banks[0][0x0B] << 8 == 0x1FFF     # ERXND
    assert m.c[0x1E] == 0x80                          # ECON2.AUTOINC
    assert m.banks[3][0x12] == 0x06                   # EREVID, Rev. B7 (DS80349)
    assert (m.phy[0x02], m.phy[0x03], m.phy[0x14]) == (0x0083, 0x1400, 0x3422)
    w = W5500Model()
    # 4.1: VERSIONR 0x04, RTR 0x07D0, RCR 0x08, PTIMER 0x28, PHYCFGR 0b10111xxx
    c = w.common
    assert (c[0x39], c[0x19] << 8 | c[0x1A], c[0x1B], c[0x1C]) == (0x04, 0x07D0, 0x08, 0x28)
    assert c[0x2E] & 0xF8 == 0xB8
    # 4.2: Sn_RXBUF_SIZE / Sn_TXBUF_SIZE 2 KB, Sn_IMR 0xFF, Sn_TTL 0x80, Sn_FRAG 0x4000,
    # Sn_MSSR 0x0000 (the model had 0xFFFF: no driver relied on it)
    s = w.sockets[0].r
    assert (s[0x1E], s[0x1F], s[0x2C], s[0x16], s[0x2D]) == (2, 2, 0xFF, 0x80, 0x40)
    assert s[0x12] == s[0x13] == 0
