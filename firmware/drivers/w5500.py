"""WIZnet W5500 in MACRAW mode on socket 0: a pull NIC (barenet/nic.py) over SPI.

    w = W5500(SPI(0, baudrate=20_000_000), Pin(17, Pin.OUT), MAC, intn=Pin(21, Pin.IN))
    iface = stack.add_interface(w, ip="192.0.2.2/24")

Written from the W5500 datasheet v1.0.9 (sections cited inline; facts checked in
../shared/reference/mcu-facts.md 3.1). Socket 0 gets all 16 KB of TX and RX memory; every
received frame sits in the RX memory as a 2-byte big-endian length, which counts itself,
followed by the frame without its FCS. The chip pads nothing and fragments nothing.
"""

from barenet.compat import const

from drivers.spinic import SPINIC, SPINS, FRAME_MAX

# 2.2 SPI frame: address (16 bits), control byte BSB[4:0] RWB OM[1:0] (OM 00: length by CS)
_RWB = const(0x04)
_COMMON = const(0x00)
_S0_REG = const(0x01)      # BSB of socket n registers: 4n+1, TX memory 4n+2, RX memory 4n+3
_S0_TX = const(0x02)
_S0_RX = const(0x03)

# 4.1 common registers
_MR = const(0x0000)
_MR_RST = const(0x80)
_SHAR = const(0x0009)
_SIMR = const(0x0018)
_PHYCFGR = const(0x002E)
_PHY_LNK = const(0x01)
_VERSIONR = const(0x0039)
_VERSION = const(0x04)

# 4.2 socket registers
_Sn_MR = const(0x00)
_MACRAW = const(0x04)
_MFEN = const(0x80)        # MAC filter: only frames to SHAR and broadcast
_Sn_CR = const(0x01)
_OPEN = const(0x01)
_CLOSE = const(0x10)
_SEND = const(0x20)
_RECV = const(0x40)
_Sn_IR = const(0x02)
_IR_SENDOK = const(0x10)
_IR_RECV = const(0x04)
_Sn_SR = const(0x03)
_SOCK_MACRAW = const(0x42)
_Sn_RXBUF_SIZE = const(0x1E)
_Sn_TXBUF_SIZE = const(0x1F)
_Sn_TX_FSR = const(0x20)
_Sn_TX_WR = const(0x24)
_Sn_RX_RSR = const(0x26)
_Sn_RX_RD = const(0x28)
_Sn_IMR = const(0x2C)


class W5500(SPINIC):
    def __init__(self, spi, cs, mac, intn=None):
        self._hdr = bytearray(3)
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        SPINIC.__init__(self, spi, cs, mac, intn)
        self.reset()

    # -- SPI frames (2.2), variable-length mode: CS frames the data

    def _xfer(self, addr, bsb, buf, write):
        h = self._hdr
        h[0] = addr >> 8
        h[1] = addr & 0xFF
        h[2] = (bsb << 3) | (_RWB if write else 0)
        self.cs.value(0)
        try:
            self.spi.write(h)
            if write:
                self.spi.write(buf)
            else:
                self.spi.readinto(buf)
        finally:
            self.cs.value(1)

    def _rd8(self, addr, bsb=_S0_REG):
        b = self._b1
        self._xfer(addr, bsb, b, False)
        return b[0]

    def _wr8(self, addr, v, bsb=_S0_REG):
        b = self._b1
        b[0] = v
        self._xfer(addr, bsb, b, True)

    def _rd16(self, addr):
        b = self._b2
        self._xfer(addr, _S0_REG, b, False)
        return (b[0] << 8) | b[1]

    def _wr16(self, addr, v):
        b = self._b2
        b[0] = (v >> 8) & 0xFF
        b[1] = v & 0xFF
        self._xfer(addr, _S0_REG, b, True)

    def _rd16_stable(self, addr):
        # 4.2 Sn_RX_RSR / Sn_TX_FSR: the chip may change them between the two byte reads;
        # read until two reads agree
        v = self._rd16(addr)
        for _ in range(SPINS):
            w = self._rd16(addr)
            if w == v:
                return v
            v = w
        self.stats["chip_timeout"] += 1
        return 0

    def _command(self, cmd):
        # 4.2 Sn_CR: cleared to 0 once the chip accepted the command
        self._wr8(_Sn_CR, cmd)
        for _ in range(SPINS):
            if not self._rd8(_Sn_CR):
                return True
        self.stats["chip_timeout"] += 1
        return False

    # -- bring-up

    def reset(self):
        self._wr8(_MR, _MR_RST, _COMMON)
        for _ in range(SPINS):
            if not self._rd8(_MR, _COMMON) & _MR_RST:   # 4.1 MR.RST clears itself
                break
        if self._rd8(_VERSIONR, _COMMON) != _VERSION:
            raise OSError(19, "no W5500 on this SPI bus (VERSIONR is not 0x04)")   # ENODEV
        self._xfer(_SHAR, _COMMON, self.mac, True)
        # 4.2 Sn_RXBUF_SIZE / Sn_TXBUF_SIZE in KB, 16 KB in all: all of it to socket 0
        for n in range(8):
            kb = 16 if n == 0 else 0
            self._wr8(_Sn_RXBUF_SIZE, kb, 4 * n + 1)
            self._wr8(_Sn_TXBUF_SIZE, kb, 4 * n + 1)
        self._open()
        self._sending = False
        self.link_up = self._check()

    def _open(self):
        # 4.2 Sn_MR P[3:0] MACRAW (socket 0 only), then OPEN; Sn_SR says SOCK_MACRAW
        self._wr8(_Sn_MR, _MACRAW | _MFEN)
        self._command(_OPEN)
        if self._rd8(_Sn_SR) != _SOCK_MACRAW:
            raise OSError(19, "W5500 socket 0 did not open in MACRAW mode")
        if self._irq:
            # INTn is low while any unmasked Sn_IR bit is set (4.1 SIMR, 4.2 Sn_IMR): only
            # RECV is unmasked, so a pending SENDOK never holds the pin low and hides an edge
            self._wr8(_Sn_IMR, _IR_RECV)
            self._wr8(_SIMR, 0x01, _COMMON)

    def _reopen(self):
        # A length header that cannot be right: the RX pointers are lost. CLOSE and OPEN
        # start socket 0 afresh (OPEN initialises Sn_RX_RD and Sn_TX_WR, 4.2).
        self.stats["rx_reset"] += 1
        self._command(_CLOSE)
        self._open()
        self._sending = False

    # -- the SPINIC hooks

    def _check(self):
        return bool(self._rd8(_PHYCFGR, _COMMON) & _PHY_LNK)

    def _rx_waiting(self):
        self._rsr = self._rd16_stable(_Sn_RX_RSR)
        return self._rsr > 0

    def _ack_rx(self):
        self._wr8(_Sn_IR, _IR_RECV)    # 4.2 Sn_IR: write 1 to clear

    def _receive(self, buf):
        rsr = self._rsr         # read by _rx_waiting just before
        ptr = self._rd16(_Sn_RX_RD)
        b = self._b2
        self._xfer(ptr, _S0_RX, b, False)
        size = (b[0] << 8) | b[1]          # counts its own 2 bytes
        n = size - 2
        if n < 14 or size > rsr:
            self.stats["drop_rx_bad"] += 1
            self._reopen()
            return 0
        if n > FRAME_MAX or n > len(buf):
            # a record that is whole but longer than Ethernet allows (MACRAW stores what the
            # MAC took: 5.2 gives no limit) or than the caller's buffer: skipped by its length
            self.stats["drop_rx_size"] += 1
            got = 0
        else:
            # buffer offsets are 16 bits whatever the socket's size, the chip maps them into
            # its memory (4.2 Sn_RX_RD), so one burst reads across the end of the ring
            self._xfer((ptr + 2) & 0xFFFF, _S0_RX, memoryview(buf)[:n], False)
            got = n
        # 4.2 Sn_RX_RD, then RECV tells the chip the space is free
        self._wr16(_Sn_RX_RD, (ptr + size) & 0xFFFF)
        self._command(_RECV)
        return got

    def _transmit(self, frame, n):
        if self._sending and not self._send_done():
            self.stats["drop_tx_busy"] += 1
            return False
        if self._rd16_stable(_Sn_TX_FSR) < n:
            self.stats["drop_tx_full"] += 1
            return False
        ptr = self._rd16(_Sn_TX_WR)
        self._xfer(ptr, _S0_TX, frame, True)
        self._wr16(_Sn_TX_WR, (ptr + n) & 0xFFFF)
        # 4.2 Sn_CR SEND: sends from Sn_TX_RD to Sn_TX_WR; Sn_IR.SENDOK when done
        if not self._command(_SEND):
            return False
        self._sending = True
        return True

    def _send_done(self):
        # One SEND at a time: the next waits for SENDOK of the last (4.2 Sn_IR)
        for _ in range(SPINS):
            if self._rd8(_Sn_IR) & _IR_SENDOK:
                self._wr8(_Sn_IR, _IR_SENDOK)
                self._sending = False
                return True
        self.stats["chip_timeout"] += 1
        return False
