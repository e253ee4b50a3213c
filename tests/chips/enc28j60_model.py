"""A register-level model of the Microchip ENC28J60, written from its datasheet DS39662E and
the Rev. B7 silicon errata DS80349, for the driver firmware/drivers/enc28j60.py. It
implements what a MAC+PHY driver uses and raises ModelError for the rest and for what the
datasheet forbids. Errata behaviour is reproduced, so a driver without the workaround fails.

Every fact the model (and the driver) relies on, with its section. Checked against: [p] the
datasheet text (stored copy of DS39662E: pages 17, 43-45, 52 and Table 3-2, the register
summary); [f] mcu-facts.md 3.2; [h] the register and bit definitions of several drivers'
headers (Linux enc28j60_hw.h and others, seen through the code index), which agree; [e] the
errata as quoted by those drivers and mcu-facts: the text of errata 2 and 12 word for word
in several drivers' comments, and DS80349 rev. C's list of 19 numbered issues in another's
(the errata document itself was not seen).

| fact | section |
|---|---|
| SPI instructions: RCR 000aaaaa, RBM 0x3A, WCR 010aaaaa, WBM 0x7A, BFS 100aaaaa, BFC 101aaaaa, SRC 0xFF; framed by CS | 4.2 Table 4-1 [f] [h] |
| RCR of a MAC or MII register shifts out a dummy byte before the value | 4.2.1 [f] |
| BFS/BFC work on ETH registers only | 4.2.5, 4.2.6 [f] |
| EIE 0x1B, EIR 0x1C, ESTAT 0x1D, ECON2 0x1E, ECON1 0x1F in every bank; ECON1.BSEL1:0 picks the bank of 0x00-0x1A | 3.1 Table 3-1 [f] [h] |
| bank 0: ERDPT 00, EWRPT 02, ETXST 04, ETXND 06, ERXST 08, ERXND 0A, ERXRDPT 0C, ERXWRPT 0E (R), EDMA* 10-17; pairs low byte first | 3.1 [f] [h] |
| bank 1: EHT 00-07, EPMM 08-0F, EPMCS 10, EPMO 14, ERXFCON 18, EPKTCNT 19 (R) | 3.1 [p] [h] |
| bank 2 (MAC/MII): MACON1 00, MACON3 02, MACON4 03, MABBIPG 04, MAIPG 06, MACLCON 08, MAMXFL 0A, MICMD 12, MIREGADR 14, MIWR 16, MIRD 18 (R) | 3.1 [p] [h] |
| bank 3: MAADR5 00, MAADR6 01, MAADR3 02, MAADR4 03, MAADR1 04, MAADR2 05 (MAC), MISTAT 0A (MII, R), EREVID 12 (R) = 0x06 on B7 | 3.1; errata [p] [h] [e] |
| ECON1 TXRST 0x80, RXRST 0x40, DMAST 0x20, CSUMEN 0x10, TXRTS 0x08, RXEN 0x04; ECON2 AUTOINC 0x80 (reset 1), PKTDEC 0x40 | 3.1 Registers 3-1, 3-2 [h] |
| EIE INTIE 0x80, PKTIE 0x40; EIR PKTIF 0x40 (R), TXIF 0x08, TXERIF 0x02, RXERIF 0x01; ESTAT TXABRT 0x02, CLKRDY 0x01 | 12.1 Registers 12-1..12-3 [h] |
| INT pin low while INTIE and a flag both enabled (EIE) and set (EIR) | 12.1 [-] |
| 8 KB buffer; receive FIFO circular over ERXST..ERXND, both included; the chip writes up to, not including, ERXRDPT; a packet that does not fit is dropped, RXERIF set | 3.2.1, 7.2.4 [p] |
| ERXST/ERXND must not change while RXEN is set | 3.2.1, 7.2.1 [p] |
| RBM with AUTOINC steps ERDPT and wraps from ERXND to ERXST; WBM steps EWRPT, 0x1FFF wraps to 0 | 3.2.1, 4.2.2, 4.2.4 [p] [f] |
| each packet: next packet pointer (LE16), byte count with FCS (LE16), status bits 16-31 (bit 23 Received OK, 24 multicast, 25 broadcast), the frame and its CRC; packets start on even addresses | 7.2.2 Figure 7-3, Table 7-3 [p] |
| EPKTCNT counts packets; PKTDEC decrements it; PKTIF set on a packet, cleared when EPKTCNT reaches 0 | 7.2.1, 7.2.4 [p] |
| ERXRDPTL is buffered until ERXRDPTH is written | 7.2.4 [p] |
| ERXFCON UCEN 0x80, ANDOR 0x40, CRCEN 0x20, PMEN 0x10, MPEN 0x08, HTEN 0x04, MCEN 0x02, BCEN 0x01; multicast = LSB of the first destination byte | 8, 8.5, 8.6 [p] [h] |
| transmit: control byte at ETXST (POVERRIDE 0x01, PCRCEN 0x02, PPADEN 0x04), frame up to ETXND; TXRTS starts, clears when done, TXIF set; 7-byte status vector at ETXND+1; abort: TXABRT, TXERIF | 7.1 Figures 7-1, 7-2 [f] [h]; TSV bits [h] |
| MACON1 MARXEN 0x01; MACON3 PADCFG0 0x20, TXCRCEN 0x10, FULDPX 0x01; FULDPX must match PHCON1.PDPXMD | 6.5, 6.6 [p] [h]; the match rule [-] |
| MACON3.HFRMEN 0x04 clear: frames longer than MAMXFL (reset 0x0600) are aborted when received | 6.5, Register 6-2 [h]; reset Table 3-2 |
| PHY through MIREGADR: MICMD.MIIRD 0x01 loads MIRD, MISTAT.BUSY 0x01; a write to MIWRH writes MIWR | 3.3.1, 3.3.2 [f] [h] |
| PHY registers PHCON1 00 (PDPXMD 0x0100), PHSTAT1 01, PHID1 02, PHID2 03, PHCON2 10 (HDLDIS 0x0100), PHSTAT2 11 (LSTAT 0x0400), PHIE 12, PHIR 13, PHLCON 14 | 3.3 Table 3-3 [h] |

Errata DS80349 behaviour reproduced [e] (each with the driver's workaround):
- an even ERXRDPT corrupts the receive FIFO: here the next packet pointer of each packet
  written while ERXRDPT is even gets its low bit flipped (driver: write next - 1, odd);
- PKTIF does not reliably report pending packets: here every PKTDEC clears it, even with
  packets left (driver: poll EPKTCNT);
- in half duplex, a transmit abort (late collision, inject with `collide(n)`) stalls the
  transmit logic: TXRTS then never clears until ECON1.TXRST is pulsed (driver: TXRST before
  each transmission);
- (erratum 5) writing ERXST or ERXND resets the internal write pointer to 0000h, not ERXST
  (driver: the receive FIFO starts at 0);
- (erratum 2) after the SPI reset command the chip is not ready for 1 ms though
  ESTAT.CLKRDY stays set: what is clocked in meanwhile is lost, reads give 0 (EREVID too)
  but ESTAT shows CLKRDY; `time_us` is the model's microsecond clock (driver: 2 ms sleep).
The DS80349 numbers of the others: 14 even ERXRDPT, 6 PKTIF, 12 transmit abort stall.

Model choices: transmissions complete at once unless `slow_send(reads)`, PHY commands at
once; frames from the wire are padded to 60 bytes and get their CRC-32 stored, as the MAC
receives them.
"""

import binascii
import time

from spichip import ModelError, SPIChip

_KNOWN = (
    tuple(range(0x00, 0x18)),
    tuple(range(0x00, 0x12)) + (0x14, 0x15, 0x18, 0x19),
    (0x00, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x12, 0x14, 0x16, 0x17,
     0x18, 0x19),
    tuple(range(0x00, 0x0B)) + (0x12, 0x15, 0x17, 0x18, 0x19),
)
_MACMII = (set(_KNOWN[2]), set(range(0x00, 0x06)) | {0x0A})
_READ_ONLY = ((0, 0x0E), (0, 0x0F), (1, 0x19), (2, 0x18), (2, 0x19), (3, 0x0A), (3, 0x12))
_EIE, _EIR, _ESTAT, _ECON2, _ECON1 = 0x1B, 0x1C, 0x1D, 0x1E, 0x1F
_PHY = (0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x14)
_PHY_RO = (0x01, 0x02, 0x03, 0x11, 0x13)
PKTIF, TXIF, TXERIF, RXERIF = 0x40, 0x08, 0x02, 0x01
TXRST, RXRST, DMAST, CSUMEN, TXRTS, RXEN = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04
REVISION_B7 = 0x06
_DUMMY = 0xFF   # what a MAC/MII read shifts out first: a driver that keeps it sees garbage


def _real_us():
    if hasattr(time, "ticks_us"):
        return time.ticks_us()
    return time.monotonic_ns() // 1000


def _us_since(t0, t1):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(t1, t0)
    return t1 - t0


def _macmii(bank, a):
    """A MAC or MII register: its RCR shifts out a dummy byte first (4.2.1)."""
    return bank is not None and bank >= 2 and a in _MACMII[bank - 2]


class ENC28J60Model(SPIChip):
    def __init__(self):
        SPIChip.__init__(self)
        self.mem = bytearray(8192)
        self.stats["tx_aborted"] = 0
        self._collisions = 0
        self._op = None
        self.send_reads = 0
        self.time_us = _real_us   # a test may give a clock it moves itself
        self._src_at = None     # when the last SRC came (the chip is not ready for 1 ms)
        self.stats["lost_before_ready"] = 0
        self.stats["rx_too_long"] = 0
        self._reset()

    def slow_send(self, reads):
        """From now on a transmission ends (TXRTS clears, the frame on the wire) only after
        the host has read ECON1 `reads` times: a chip still sending at 10 Mb/s."""
        self.send_reads = reads

    def _ready(self):
        """Erratum 2 (DS80349): after an SPI reset the chip is not ready for about 1 ms,
        though ESTAT.CLKRDY stays set."""
        if self._src_at is None:
            return True
        if _us_since(self._src_at, self.time_us()) >= 1000:
            self._src_at = None
            return True
        return False

    def collide(self, n=1):
        """The next n transmissions in half duplex end in a late collision."""
        self._collisions = n

    def _reset(self):
        # 11.2 Table 11-1 (reset values of what the model keeps)
        self.banks = [bytearray(32) for _ in range(4)]
        self.c = bytearray(32)              # 0x1B-0x1F
        self.c[_ECON2] = 0x80
        self.c[_ESTAT] = 0x01               # CLKRDY
        b0 = self.banks[0]
        for off, v in ((0x00, 0x05FA), (0x08, 0x05FA), (0x0A, 0x1FFF), (0x0C, 0x05FA)):
            b0[off] = v & 0xFF
            b0[off + 1] = v >> 8
        self.banks[1][0x18] = 0xA1
        b2 = self.banks[2]
        b2[0x08] = 0x0F
        b2[0x09] = 0x37
        b2[0x0B] = 0x06
        self.banks[3][0x12] = REVISION_B7
        self.phy = {a: 0 for a in _PHY}
        self.phy[0x02] = 0x0083
        self.phy[0x03] = 0x1400
        self.phy[0x14] = 0x3422
        self.epktcnt = 0
        self._tx_left = 0                   # ECON1 reads until the transmission ends
        self.wp = 0                         # the hardware write pointer (ERXWRPT)
        self._rdpt_low = 0
        self.tx_stalled = False
        self._update_int()

    # -- register file

    def _reg(self, a):
        """(bank, address) of address a under the current bank select."""
        if a >= 0x1B:
            return None, a
        bank = self.c[_ECON1] & 3
        if a not in _KNOWN[bank]:
            raise ModelError("bank %d register 0x%02x is reserved or not modelled" % (bank, a))
        return bank, a

    def _get16(self, bank, a):
        r = self.banks[bank]
        return r[a] | (r[a + 1] << 8)

    def _set16(self, bank, a, v):
        r = self.banks[bank]
        r[a] = v & 0xFF
        r[a + 1] = (v >> 8) & 0xFF

    def _read(self, bank, a):
        if bank is None:
            if a == _ECON1 and self._tx_left:
                self._tx_left -= 1
                if not self._tx_left:
                    self._transmit()
                    self._update_int()
            return self.c[a]
        if bank == 0 and a in (0x0E, 0x0F):
            return (self.wp >> (8 * (a - 0x0E))) & 0xFF
        if bank == 1 and a == 0x19:
            return self.epktcnt
        return self.banks[bank][a]

    def _write(self, bank, a, v, how):
        if bank is None:
            self._write_common(a, v, how)
            return
        if (bank, a) in _READ_ONLY:
            raise ModelError("bank %d register 0x%02x is read-only" % (bank, a))
        if bank == 0 and 0x08 <= a <= 0x0B:
            if self.c[_ECON1] & RXEN:
                raise ModelError("ERXST/ERXND written while ECON1.RXEN is set (3.2.1)")
            self.banks[0][a] = v
            self.wp = 0         # erratum: the write pointer becomes 0000h, not ERXST
            return
        if bank == 0 and a == 0x0C:
            self._rdpt_low = v      # 7.2.4: held until ERXRDPTH is written
            return
        if bank == 0 and a == 0x0D:
            self.banks[0][0x0C] = self._rdpt_low
        self.banks[bank][a] = v
        if bank == 2 and a == 0x12:
            if v & ~0x01:
                raise ModelError("MICMD.MIISCAN is not modelled")
            if v & 0x01:
                self._set16(2, 0x18, self._phy_read(self.banks[2][0x14]))
        elif bank == 2 and a == 0x17:
            self._phy_write(self.banks[2][0x14], self._get16(2, 0x16))

    def _write_common(self, a, v, how):
        old = self.c[a]
        if a == _ESTAT:
            if how != "bfc" or v & ~0x42:
                raise ModelError("ESTAT: only TXABRT and BUFER can be cleared (BFC)")
            self.c[a] = old & ~v & 0xFF
            return
        if a == _EIR:
            v = (v & ~PKTIF) | (old & PKTIF)      # PKTIF is read-only
        if a == _ECON2:
            if v & 0x40:
                if self.epktcnt == 0:
                    raise ModelError("ECON2.PKTDEC with EPKTCNT at 0")
                self.epktcnt -= 1
                # erratum: PKTIF is unreliable; here it drops on every decrement
                self.c[_EIR] &= ~PKTIF
            v &= ~0x40 & 0xFF                   # PKTDEC reads back 0
            if v & 0x07:
                raise ModelError("ECON2 bits 2-0 are unimplemented")
        if a == _ECON1:
            if v & (RXRST | DMAST | CSUMEN):
                raise ModelError("ECON1 RXRST/DMAST/CSUMEN are not modelled")
            if v & TXRST:
                self.tx_stalled = False
                self._tx_left = 0           # a transmission under way is aborted
                v &= ~TXRTS & 0xFF
            elif v & TXRTS and not old & TXRTS:
                self.c[a] = v
                if self.send_reads:
                    self._tx_left = self.send_reads
                    return
                self._transmit()
                self._update_int()
                return
        self.c[a] = v
        self._update_int()

    def _phy_read(self, r):
        if r not in _PHY:
            raise ModelError("PHY register 0x%02x is reserved" % r)
        fd = self.phy[0x00] & 0x0100
        if r == 0x11:
            return (0x0400 if self.link else 0) | (0x0200 if fd else 0)
        if r == 0x01:
            return 0x1800 | (0x0004 if self.link else 0)
        return self.phy[r]

    def _phy_write(self, r, v):
        if r not in _PHY or r in _PHY_RO:
            raise ModelError("PHY register 0x%02x is reserved or read-only" % r)
        self.phy[r] = v

    # -- SPI instructions (4.2)

    def _begin(self):
        self._op = None
        self._n = 0

    def _end(self):
        op = self._op
        if op in ("wcr", "bfs", "bfc") and self._n != 1:
            raise ModelError("%s ended after %d data bytes, not 1" % (op.upper(), self._n))
        if op == "rcr" and self._n != self._rcr_len:
            raise ModelError("RCR of register 0x%02x clocked %d bytes, not %d"
                             % (self._addr, self._n, self._rcr_len))

    def _shift(self, out, inbuf, fill):
        n = len(out) if out is not None else len(inbuf)
        i = 0
        if n and self._op is None:
            b = out[0] if out is not None else fill
            if inbuf is not None:
                inbuf[0] = 0
            self._decode(b)
            i = 1
        if i < n:
            self._data(out, inbuf, i, n, fill)

    def _decode(self, b):
        op = b >> 5
        a = b & 0x1F
        self._addr = a
        if b == 0x3A:
            self._op = "rbm"
        elif b == 0x7A:
            self._op = "wbm"
            self._check_wbm()
        elif b == 0xFF:
            self._op = "src"
            self._reset()
            self._src_at = self.time_us()
        elif not self._ready():
            # what the host clocks in before the chip is ready is lost; reads give 0, but
            # ESTAT still shows CLKRDY (the erratum), so polling CLKRDY does not help
            self.stats["lost_before_ready"] += 1
            self._op = "lost"
            self._lost_estat = b == _ESTAT
        elif op == 0:
            self._op = "rcr"
            bank, a = self._reg(a)
            self._rcr = (bank, a)
            self._rcr_len = 2 if _macmii(bank, a) else 1
        elif op == 2:
            self._op = "wcr"
        elif op in (4, 5):
            self._op = "bfs" if op == 4 else "bfc"
            bank, _ = self._reg(a)
            if _macmii(bank, a):
                raise ModelError("BFS/BFC on MAC/MII register 0x%02x (ETH registers only)" % a)
        else:
            raise ModelError("SPI opcode 0x%02x is reserved" % b)

    def _data(self, out, inbuf, i, n, fill):
        op = self._op
        if op == "rbm":
            self._rbm(inbuf, i, n)
            return
        if op == "wbm":
            self._wbm(out, inbuf, i, n, fill)
            return
        if op == "src":
            raise ModelError("SRC takes no data bytes")
        if op == "lost":
            if inbuf is not None:
                for k in range(i, n):
                    inbuf[k] = 0x01 if self._lost_estat else 0
            return
        for k in range(i, n):
            v = out[k] if out is not None else fill
            self._n += 1
            if op == "rcr":
                if self._n > self._rcr_len:
                    raise ModelError("RCR reads one register")
                bank, a = self._rcr
                inbuf[k] = self._read(bank, a) if self._n == self._rcr_len else _DUMMY
                continue
            if inbuf is not None:
                inbuf[k] = 0
            if self._n > 1:
                raise ModelError("%s takes one data byte" % op.upper())
            bank, a = self._reg(self._addr)
            if op == "wcr":
                self._write(bank, a, v, "wcr")
            elif op == "bfs":
                self._write(bank, a, self._read(bank, a) | v, "bfs")
            else:
                if bank is None:
                    self._write_common(a, v if a == _ESTAT else self.c[a] & ~v & 0xFF, "bfc")
                else:
                    self._write(bank, a, self._read(bank, a) & ~v & 0xFF, "bfc")

    def _rbm(self, inbuf, i, n):
        st = self._get16(0, 0x08)
        nd = self._get16(0, 0x0A)
        p = self._get16(0, 0x00)
        inc = self.c[_ECON2] & 0x80
        mem = self.mem
        for k in range(i, n):
            inbuf[k] = mem[p]
            if inc:
                p = st if p == nd else (p + 1) & 0x1FFF
        self._set16(0, 0x00, p)

    def _check_wbm(self):
        p = self._get16(0, 0x02)
        if self.c[_ECON1] & RXEN and self._in_rx(p):
            raise ModelError("WBM at 0x%04x, inside the receive FIFO" % p)

    def _in_rx(self, p):
        return self._get16(0, 0x08) <= p <= self._get16(0, 0x0A)

    def _wbm(self, out, inbuf, i, n, fill):
        p = self._get16(0, 0x02)
        rx_on = self.c[_ECON1] & RXEN
        inc = self.c[_ECON2] & 0x80
        for k in range(i, n):
            if rx_on and self._in_rx(p):
                raise ModelError("WBM ran into the receive FIFO at 0x%04x" % p)
            self.mem[p] = out[k] if out is not None else fill
            if inbuf is not None:
                inbuf[k] = 0
            if inc:
                p = (p + 1) & 0x1FFF
        self._set16(0, 0x02, p)

    # -- transmit (7.1)

    def _transmit(self):
        st = self._get16(0, 0x04)
        nd = self._get16(0, 0x06)
        b2 = self.banks[2]
        full = b2[0x02] & 0x01
        if bool(full) != bool(self.phy[0x00] & 0x0100):
            raise ModelError("MACON3.FULDPX does not match PHCON1.PDPXMD (6.6)")
        if self.tx_stalled:
            return          # erratum: TXRTS stays set
        if nd <= st or nd - st > 1514:
            raise ModelError("transmit of ETXST 0x%04x .. ETXND 0x%04x" % (st, nd))
        ctl = self.mem[st]
        crc, pad = (ctl & 0x02, ctl & 0x04) if ctl & 0x01 else (b2[0x02] & 0x10, b2[0x02] & 0x20)
        if not crc:
            raise ModelError("a frame without a CRC appended is not modelled")
        frame = bytes(self.mem[st + 1:nd + 1])
        if pad and len(frame) < 60:
            frame += bytes(60 - len(frame))
        tsv = bytearray(7)
        tsv[0] = len(frame) & 0xFF
        tsv[1] = len(frame) >> 8
        tsv[2] = 0x80                       # done
        if not full and self._collisions:
            self._collisions -= 1
            tsv[3] = 0x20                   # late collision
            self.c[_ESTAT] |= 0x02          # TXABRT
            self.c[_EIR] |= TXERIF
            self.tx_stalled = True          # erratum: the transmit logic stalls
            self.stats["tx_aborted"] += 1
        else:
            self._emit(frame)
            self.c[_EIR] |= TXIF
        for k in range(7):
            self.mem[(nd + 1 + k) & 0x1FFF] = tsv[k]
        self.c[_ECON1] &= ~TXRTS & 0xFF

    # -- receive (7.2)

    def _store(self, frame):
        b1 = self.banks[1]
        if not (self.c[_ECON1] & RXEN and self.banks[2][0x00] & 0x01):
            self.stats["rx_filtered"] += 1
            return
        f = b1[0x18]
        if f & 0x5C:
            raise ModelError("ERXFCON ANDOR/PMEN/MPEN/HTEN filters are not modelled")
        dst = frame[0:6]
        bcast = dst == b"\xff" * 6
        mine = dst == self._maadr()
        if f & 0x83 and not ((f & 0x80 and mine) or (f & 0x01 and bcast)
                             or (f & 0x02 and dst[0] & 1)):
            self.stats["rx_filtered"] += 1
            return
        b2 = self.banks[2]
        if len(frame) + 4 > self._get16(2, 0x0A) and not b2[0x02] & 0x04:
            # MACON3.HFRMEN clear: frames longer than MAMXFL are aborted (Register 6-2)
            self.stats["rx_too_long"] += 1
            return
        if len(frame) < 60:
            frame += bytes(60 - len(frame))
        crc = binascii.crc32(frame) & 0xFFFFFFFF
        data = frame + bytes([crc & 0xFF, (crc >> 8) & 0xFF, (crc >> 16) & 0xFF, crc >> 24])
        count = len(data)
        st = self._get16(0, 0x08)
        nd = self._get16(0, 0x0A)
        size = nd - st + 1
        rdpt = self._get16(0, 0x0C)
        need = 6 + count + (count & 1)
        free = (rdpt - self.wp) % size
        if free == 0:
            free = size
        if need >= free or self.epktcnt == 255:
            self.c[_EIR] |= RXERIF
            self.stats["rx_overflow"] += 1
            self._update_int()
            return
        nxt = st + (self.wp - st + need) % size
        head_next = nxt ^ 0x0001 if not rdpt & 1 else nxt   # erratum: even ERXRDPT
        status = 0x80
        flags = (0x01 if dst[0] & 1 else 0) | (0x02 if bcast else 0)
        head = bytes([head_next & 0xFF, head_next >> 8, count & 0xFF, count >> 8, status, flags])
        if self.wp + need > nd + 1:
            self.stats["rx_wrapped"] += 1
        p = self.wp
        for b in head + data:
            self.mem[p] = b
            p = st if p == nd else p + 1
        self.wp = nxt
        self.epktcnt += 1
        self.c[_EIR] |= PKTIF
        self.stats["rx"] += 1
        self._update_int()

    def _maadr(self):
        b3 = self.banks[3]
        return bytes([b3[4], b3[5], b3[2], b3[3], b3[0], b3[1]])

    def _update_int(self):
        eie = self.c[_EIE]
        self._set_int(bool(eie & 0x80 and eie & self.c[_EIR] & 0x7F))
