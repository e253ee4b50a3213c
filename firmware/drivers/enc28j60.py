"""Microchip ENC28J60 (10BASE-T MAC+PHY): a pull NIC (barenet/nic.py) over SPI.

    e = ENC28J60(SPI(0, baudrate=8_000_000), Pin(17, Pin.OUT), MAC, intn=Pin(21, Pin.IN))
    iface = stack.add_interface(e, ip="192.0.2.2/24")

Written from the datasheet DS39662E (sections cited inline) with the Rev. B7 silicon errata
DS80349 (rev. C) workarounds, each in a method of its own named for the erratum and
numbered as DS80349 numbers them: 2 reset, 5 and 14 memory, 6 interrupts, 12 transmit
logic; the others concern CLKOUT, loopback, LEDs, DMA and pattern match, unused here (facts in
../shared/reference/mcu-facts.md 3.2). The PHY has no auto-negotiation: half duplex (the
default, as a switch port detects it) or full_duplex=True when the partner is forced to it.

Memory (3.2): the receive FIFO is RX_START..RX_END, 0x0000-0x19FF, at address 0 as the errata
require; one transmit frame at TX_START, 0x1A00: control byte, frame, 7-byte status vector
(<= 1522 bytes).
"""

from barenet.compat import const

from drivers.spinic import SPINIC, SPINS, FRAME_MAX, sleep_ms

# 4.2 Table 4-1 SPI instructions: opcode in bits 7-5, register address in bits 4-0
_RCR = const(0x00)
_RBM = const(0x3A)
_WCR = const(0x40)
_WBM = const(0x7A)
_BFS = const(0x80)
_BFC = const(0xA0)
_SRC = const(0xFF)

# 3.1 registers as address | bank << 5 | 0x80 for MAC and MII registers, which shift out a
# dummy byte before their value (4.2.1); 0x1B-0x1F are in every bank
_MACMII = const(0x80)
_EIE = const(0x1B)
_EIR = const(0x1C)
_ESTAT = const(0x1D)
_ECON2 = const(0x1E)
_ECON1 = const(0x1F)
_ERDPTL = const(0x00)
_EWRPTL = const(0x02)
_ETXSTL = const(0x04)
_ETXNDL = const(0x06)
_ERXSTL = const(0x08)
_ERXNDL = const(0x0A)
_ERXRDPTL = const(0x0C)
_ERXFCON = const(0x38)
_EPKTCNT = const(0x39)
_MACON1 = const(0xC0)
_MACON3 = const(0xC2)
_MACON4 = const(0xC3)
_MABBIPG = const(0xC4)
_MAIPGL = const(0xC6)
_MAIPGH = const(0xC7)
_MAMXFLL = const(0xCA)
_MICMD = const(0xD2)
_MIREGADR = const(0xD4)
_MIWRL = const(0xD6)
_MIRDL = const(0xD8)
_MAADR = const(0xE0)       # bank 3 address 0
_MISTAT = const(0xEA)
_EREVID = const(0x72)
# MAC address bytes 1..6 live at bank 3 addresses 4, 5, 2, 3, 0, 1 (3.1 Table 3-1)
_MAADR_ORDER = (4, 5, 2, 3, 0, 1)

_ECON1_TXRST = const(0x80)
_ECON1_TXRTS = const(0x08)
_ECON1_RXEN = const(0x04)
_ECON2_AUTOINC = const(0x80)
_ECON2_PKTDEC = const(0x40)
_EIE_INTIE = const(0x80)
_EIE_PKTIE = const(0x40)
_EIR_TXIF = const(0x08)
_EIR_TXERIF = const(0x02)
_EIR_RXERIF = const(0x01)
_ESTAT_CLKRDY = const(0x01)
_ESTAT_TXABRT = const(0x02)
_MISTAT_BUSY = const(0x01)
_MICMD_MIIRD = const(0x01)

# 3.3 PHY registers
_PHCON1 = const(0x00)
_PHCON1_PDPXMD = const(0x0100)
_PHCON2 = const(0x10)
_PHCON2_HDLDIS = const(0x0100)
_PHSTAT2 = const(0x11)
_PHSTAT2_LSTAT = const(0x0400)

# 7.2.2 Table 7-3 receive status vector: bit 23 Received OK is bit 7 of the third byte
_RSV_OK = const(0x80)
_FCS = const(4)


class ENC28J60(SPINIC):
    RX_START = 0x0000       # at 0: erratum 5's workaround (the RX write pointer resets to 0)
    RX_END = 0x19FF
    TX_START = 0x1A00

    def __init__(self, spi, cs, mac, intn=None, full_duplex=False):
        self.full_duplex = full_duplex
        self._op2 = bytearray(2)
        self._rx3 = bytearray(3)
        self._op1 = bytearray(1)
        self._hdr = bytearray(6)
        self._ctl = bytearray(1)    # per-packet control byte 0: MACON3 decides (7.1)
        self._bank = 0
        SPINIC.__init__(self, spi, cs, mac, intn)
        self.stats["tx_abort"] = 0
        self.stats["rx_overflow"] = 0    # times the chip dropped packets for lack of room
        self.reset()

    # -- SPI instructions (4.2)

    def _select(self, reg):
        bank = (reg >> 5) & 3
        if (reg & 0x1F) < 0x1B and bank != self._bank:
            self._op(_BFC, _ECON1, 0x03)
            if bank:
                self._op(_BFS, _ECON1, bank)
            self._bank = bank

    def _op(self, opcode, addr, value):
        b = self._op2
        b[0] = opcode | (addr & 0x1F)
        b[1] = value
        self.cs.value(0)
        try:
            self.spi.write(b)
        finally:
            self.cs.value(1)

    def _rcr(self, reg):
        self._select(reg)
        r = self._rx3
        n = 3 if reg & _MACMII else 2
        b = memoryview(r)[:n]
        b[0] = _RCR | (reg & 0x1F)
        b[1] = 0
        if n == 3:
            b[2] = 0
        self.cs.value(0)
        try:
            self.spi.write_readinto(b, b)
        finally:
            self.cs.value(1)
        return r[n - 1]

    def _wcr(self, reg, v):
        self._select(reg)
        self._op(_WCR, reg, v)

    def _wcr16(self, reg, v):
        # low byte first: ERXRDPT takes both bytes when the high one is written (7.2.4)
        self._wcr(reg, v & 0xFF)
        self._wcr(reg + 1, v >> 8)

    def _bfs(self, reg, mask):     # ETH registers only (4.2.5)
        self._op(_BFS, reg, mask)

    def _bfc(self, reg, mask):
        self._op(_BFC, reg, mask)

    def _buffer(self, opcode, data, write):
        b = self._op1
        b[0] = opcode
        self.cs.value(0)
        try:
            self.spi.write(b)
            if write:
                self.spi.write(data)
            else:
                self.spi.readinto(data)
        finally:
            self.cs.value(1)

    def _phy_read(self, addr):
        # 3.3.1: MIREGADR, MICMD.MIIRD, wait 10.24 us, poll MISTAT.BUSY until clear, MIIRD
        # off, MIRD. No sleep for the 10.24 us: the two SPI transactions before the first
        # poll (bank select, RCR with its dummy byte) take longer than that from Python.
        self._wcr(_MIREGADR, addr)
        self._wcr(_MICMD, _MICMD_MIIRD)
        self._phy_wait()
        self._wcr(_MICMD, 0)
        return self._rcr(_MIRDL) | (self._rcr(_MIRDL + 1) << 8)

    def _phy_write(self, addr, v):
        # 3.3.2: MIREGADR, MIWRL, then MIWRH starts the write
        self._wcr(_MIREGADR, addr)
        self._wcr16(_MIWRL, v)
        self._phy_wait()

    def _phy_wait(self):
        for _ in range(SPINS):
            if not self._rcr(_MISTAT) & _MISTAT_BUSY:
                return
        self.stats["chip_timeout"] += 1

    # -- bring-up (6, 7.2.1)

    def reset(self):
        self._buffer(_SRC, b"", True)
        self._bank = 0              # the reset clears ECON1.BSEL
        self._wait_after_reset()
        for _ in range(SPINS):
            if self._rcr(_ESTAT) & _ESTAT_CLKRDY:      # 2.2 oscillator start-up timer
                break
        rev = self._rcr(_EREVID)
        if rev in (0, 0xFF):
            raise OSError(19, "no ENC28J60 on this SPI bus (EREVID reads 0x%02x)" % rev)
        self.revision = rev
        # 6.1 buffers
        self._wcr16(_ERXSTL, self.RX_START)
        self._wcr16(_ERXNDL, self.RX_END)
        self._next = self.RX_START
        self._free_rx(self.RX_START)
        self._wcr16(_ETXSTL, self.TX_START)
        self._bfs(_ECON2, _ECON2_AUTOINC)      # 4.2.2 RBM/WBM step the pointers
        # 8 receive filters: our MAC, multicast, broadcast, and drop frames with a bad CRC
        self._wcr(_ERXFCON, 0x80 | 0x20 | 0x02 | 0x01)
        # 6.5 MAC: receive, pause frames both ways; pad to 60 and add the CRC, check lengths
        self._wcr(_MACON1, 0x01 | 0x04 | 0x08)
        fd = 0x01 if self.full_duplex else 0
        self._wcr(_MACON3, 0x20 | 0x10 | 0x02 | fd)
        self._wcr(_MACON4, 0 if self.full_duplex else 0x40)   # DEFER in half duplex (802.3)
        self._wcr16(_MAMXFLL, FRAME_MAX + _FCS)
        self._wcr(_MABBIPG, 0x15 if self.full_duplex else 0x12)
        self._wcr(_MAIPGL, 0x12)
        if not self.full_duplex:
            self._wcr(_MAIPGH, 0x0C)
        for i in range(6):
            self._wcr(_MAADR + _MAADR_ORDER[i], self.mac[i])
        # 6.6 PHY duplex must match MACON3.FULDPX; in half duplex the PHY would otherwise
        # loop our own frames back (PHCON2.HDLDIS)
        self._phy_write(_PHCON1, _PHCON1_PDPXMD if self.full_duplex else 0)
        if not self.full_duplex:
            self._phy_write(_PHCON2, _PHCON2_HDLDIS)
        if self._irq:
            self._bfs(_EIE, _EIE_INTIE | _EIE_PKTIE)      # 12: INT low on PKTIF
        self._bfs(_ECON1, _ECON1_RXEN)                    # 7.2.1: last
        self.link_up = self._check()

    def _wait_after_reset(self):
        # Erratum 2 (Reset): after the SPI reset command the PHY clock is stopped but
        # ESTAT.CLKRDY is not cleared, so polling it proves nothing, and the 300 us start-up
        # time may pass before the chip is ready: wait at least 1 ms. sleep_ms(1) may end
        # early (862 us measured in the unix VM, whose tick the sleep rounds to), so 2.
        sleep_ms(2)

    # -- errata workarounds (DS80349)

    def _rx_count(self):
        # Erratum 6 (Interrupts): EIR.PKTIF does not reliably report pending packets;
        # EPKTCNT does.
        return self._rcr(_EPKTCNT)

    def _free_rx(self, next_ptr):
        # Erratum 14 (Memory): an even ERXRDPT may corrupt the receive FIFO; free up to
        # the byte before the next packet instead, which is odd since packets start on
        # even addresses (7.2.2)
        v = next_ptr - 1
        if v < self.RX_START or v > self.RX_END:
            v = self.RX_END
        self._wcr16(_ERXRDPTL, v)

    def _tx_reset(self):
        # Erratum 12 (Transmit Logic): in half duplex a transmit abort (late or excess
        # collisions) may stall the transmit logic, TXRTS then never clears: reset it
        # before each transmission, and clear the error flag the reset itself may raise.
        self._bfs(_ECON1, _ECON1_TXRST)
        self._bfc(_ECON1, _ECON1_TXRST)
        self._bfc(_EIR, _EIR_TXERIF | _EIR_TXIF)

    # -- the SPINIC hooks

    def _check(self):
        # 7.2.4: a packet that found no room was dropped and EIR.RXERIF set: count it
        if self._rcr(_EIR) & _EIR_RXERIF:
            self.stats["rx_overflow"] += 1
            self._bfc(_EIR, _EIR_RXERIF)
        return bool(self._phy_read(_PHSTAT2) & _PHSTAT2_LSTAT)

    def _rx_waiting(self):
        return self._rx_count() > 0

    def _ack_rx(self):
        pass    # PKTIF and the INT pin follow EPKTCNT: PKTDEC to 0 clears them (7.2.4)

    def _receive(self, buf):
        # 7.2.2 Figure 7-3: next packet pointer (LE16), byte count (LE16, with the FCS),
        # status (LE16), then the frame, wrapping from ERXND to ERXST (4.2.2)
        self._wcr16(_ERDPTL, self._next)
        h = self._hdr
        self._buffer(_RBM, h, False)
        nxt = h[0] | (h[1] << 8)
        count = h[2] | (h[3] << 8)
        if nxt & 1 or nxt < self.RX_START or nxt > self.RX_END or count > FRAME_MAX + _FCS:
            # The FIFO is no longer what the header says: start the chip afresh
            self.stats["drop_rx_bad"] += 1
            self.stats["rx_reset"] += 1
            self.reset()
            return 0
        n = count - _FCS
        got = 0
        if not h[4] & _RSV_OK or n < 14:
            self.stats["drop_rx_bad"] += 1
        elif n > len(buf):
            self.stats["drop_rx_size"] += 1
        else:
            self._buffer(_RBM, memoryview(buf)[:n], False)
            got = n
        self._next = nxt
        self._free_rx(nxt)
        self._bfs(_ECON2, _ECON2_PKTDEC)      # 7.2.4: EPKTCNT - 1
        return got

    def _transmit(self, frame, n):
        if not self._tx_wait():
            self.stats["drop_tx_busy"] += 1     # the caller may offer it again (nic.py)
            return False
        self._tx_reset()
        self._wcr16(_EWRPTL, self.TX_START)
        b = self._op1
        b[0] = _WBM
        self.cs.value(0)
        try:
            self.spi.write(b)
            self.spi.write(self._ctl)
            self.spi.write(frame)
        finally:
            self.cs.value(1)
        # 7.1: ETXND is the frame's last byte; the control byte is at ETXST
        self._wcr16(_ETXNDL, self.TX_START + n)
        self._bfs(_ECON1, _ECON1_TXRTS)
        return True

    def _tx_wait(self):
        """-> True once the last transmission ended (TXRTS clear), or stalled after an abort
        (EIR.TXERIF: the TXRST that follows frees it, erratum 12); False while the chip is
        still sending: the frame in the buffer must not be overwritten (7.1). An abort is
        counted."""
        for _ in range(SPINS):
            if not self._rcr(_ECON1) & _ECON1_TXRTS:
                break
        else:
            self.stats["chip_timeout"] += 1
            if not self._rcr(_EIR) & _EIR_TXERIF:
                return False
        if self._rcr(_ESTAT) & _ESTAT_TXABRT:
            self.stats["tx_abort"] += 1
            self._bfc(_ESTAT, _ESTAT_TXABRT)
        return True
