"""A register-level model of the WIZnet W5500, written from its datasheet (v1.0.9), for the
driver firmware/drivers/w5500.py. It implements what MACRAW mode on socket 0 uses and
raises ModelError for the rest, and for what the datasheet forbids.

Every fact the model (and the driver) relies on, with its datasheet section. Checked against:
[p] the datasheet text (stored copy of v1.0.9, pages 46 and 55); [f] mcu-facts.md 3.1 (from
the datasheet and WIZnet's ioLibrary); [h] the register map in ioLibrary's w5500.h, seen
through the code index. Facts marked [-] were not re-checked; no driver behaviour rests on
them (reset values, and which addresses the model refuses as reserved).

| fact | section |
|---|---|
| SPI frame: 16-bit address, control byte BSB[4:0]<<3 RWB<<2 OM[1:0], then data; OM 00 = variable length, framed by SCSn; the address increments per data byte | 2.2, 2.2.1-2.2.3 [f] |
| BSB 0 common registers; socket n: 4n+1 registers, 4n+2 TX memory, 4n+3 RX memory; others reserved | 2.2.2 Table [f] |
| common map: MR 0x00, GAR 0x01, SUBR 0x05, SHAR 0x09, SIPR 0x0F, INTLEVEL 0x13, IR 0x15, IMR 0x16, SIR 0x17, SIMR 0x18, RTR 0x19, RCR 0x1B, PTIMER 0x1C, PMAGIC 0x1D, PHAR 0x1E, PSID 0x24, PMRU 0x26, UIPR 0x28 (R), UPORTR 0x2C (R), PHYCFGR 0x2E, VERSIONR 0x39 (R) = 0x04; 0x2F-0x38 reserved | 4.1 [h]; reserved [-] |
| MR.RST 0x80 resets every register and clears itself; MR bits 0x40, 0x04, 0x01 reserved | 4.1 MR [f] [h] |
| PHYCFGR bit 0 LNK (1 = link up), bit 1 SPD, bit 2 DPX, read-only status | 4.1 PHYCFGR [f] |
| socket map: Sn_MR 0x00, Sn_CR 0x01, Sn_IR 0x02, Sn_SR 0x03 (R), Sn_PORT 0x04, Sn_DHAR 0x06, Sn_DIPR 0x0C, Sn_DPORT 0x10, Sn_MSSR 0x12, Sn_TOS 0x15, Sn_TTL 0x16, Sn_RXBUF_SIZE 0x1E, Sn_TXBUF_SIZE 0x1F, Sn_TX_FSR 0x20 (R), Sn_TX_RD 0x22 (R), Sn_TX_WR 0x24, Sn_RX_RSR 0x26 (R), Sn_RX_RD 0x28, Sn_RX_WR 0x2A (R), Sn_IMR 0x2C, Sn_FRAG 0x2D, Sn_KPALVTR 0x2F; 16-bit registers big-endian | 4.2 [f] [h] |
| Sn_MR P[3:0] 0100 = MACRAW, socket 0 only; MFEN 0x80: only frames to SHAR and broadcast; BCASTB 0x40 blocks broadcast; MMB 0x20 blocks multicast; MIP6B 0x10 blocks IPv6 | 4.2 Sn_MR [f] |
| Sn_CR OPEN 0x01, CLOSE 0x10, SEND 0x20, RECV 0x40; cleared to 0 once accepted | 4.2 Sn_CR (p. 46) [p] [f] |
| OPEN in MACRAW: Sn_SR = SOCK_MACRAW 0x42; OPEN initialises Sn_TX_WR, Sn_RX_RD | 4.2 Sn_CR, Sn_SR, Sn_TX_WR, Sn_RX_RD [p] [f] |
| Sn_IR SENDOK 0x10, RECV 0x04; a 1 written clears the bit | 4.2 Sn_IR [f] |
| SIR bit n: Sn_IR of socket n is not 0; INTn low while an unmasked (IMR/SIMR, Sn_IMR) bit is set | 4.1 SIR, SIMR; 4.2 Sn_IMR [f]; SIR read-only here [-] |
| Sn_RXBUF_SIZE/Sn_TXBUF_SIZE in KB: 0, 1, 2 (default), 4, 8, 16; 16 KB each in all | 4.2; 5 Memory [f] |
| buffer offsets are 16 bits and map into the socket's memory modulo its size | 4.2 Sn_TX_WR/Sn_RX_RD (p. 55) [p] [f] |
| Sn_RX_RSR = Sn_RX_WR - Sn_RX_RD, at most Sn_RXBUF_SIZE; RECV makes a new Sn_RX_RD count | 4.2 Sn_RX_RSR, Sn_RX_RD (p. 55) [p] |
| SEND sends Sn_TX_RD..Sn_TX_WR, then Sn_TX_RD = Sn_TX_WR; Sn_TX_FSR = size - (WR - RD) | 4.2 Sn_TX_FSR, Sn_TX_WR [f] |
| MACRAW receive record: 2-byte big-endian length counting itself, then the frame without FCS | 5.2 (W5200 MACRAW flow); mcu-facts 3.1 [f] |

Reset values (4.1, 4.2, pinned in test_datasheet_values.py): VERSIONR 0x04, RTR 0x07D0,
RCR 0x08, PTIMER 0x28, PHYCFGR 0b10111xxx; Sn_MSSR 0x0000, Sn_TTL 0x80, Sn_IMR 0xFF,
Sn_FRAG 0x4000, Sn_RXBUF_SIZE = Sn_TXBUF_SIZE = 2.

Model choices (not datasheet facts, so no driver may rely on them): SEND completes at once
unless `slow_send(reads)`; a frame of any length is stored (5.2 states no limit for
MACRAW); `hold_int(True)` holds INTn low whatever the flags (spichip.py);
Sn_CR still reads back the command once before it reads 0, so a driver that does not wait
for 0 writes the next command too early and the model says so; a frame that does not fit
the RX memory is dropped and counted (stats["rx_overflow"]).
"""

from spichip import ModelError, SPIChip

_MEM = 16384
_COMMON_RO = (0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x39)
_SOCK_RESERVED = (0x14, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D)
_SOCK_RO = (0x03, 0x20, 0x21, 0x22, 0x23, 0x26, 0x27, 0x2A, 0x2B)
_COMMANDS = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x21, 0x22, 0x40)
_BUF_KB = (0, 1, 2, 4, 8, 16)
MACRAW = 0x04
SOCK_MACRAW = 0x42
SENDOK = 0x10
RECV = 0x04


def _ring(mem, start, size, off, buf, write):
    """Copy buf to (write) or from socket memory [start, start + size) from 16-bit offset off,
    wrapping at the end of the socket's memory."""
    k = 0
    n = len(buf)
    while k < n:
        at = (off + k) % size
        chunk = min(n - k, size - at)
        if write:
            mem[start + at:start + at + chunk] = buf[k:k + chunk]
        else:
            buf[k:k + chunk] = mem[start + at:start + at + chunk]
        k += chunk


class Socket:
    def __init__(self):
        r = bytearray(0x30)
        r[0x06:0x0C] = b"\xff" * 6      # Sn_DHAR
        r[0x16] = 0x80                  # Sn_TTL
        r[0x1E] = r[0x1F] = 2           # 2 KB each
        r[0x2C] = 0xFF                  # Sn_IMR
        r[0x2D] = 0x40                  # Sn_FRAG
        self.r = r
        self.rx_wr = 0
        self.rx_rd = 0      # the Sn_RX_RD the chip counts from (the last RECV's)
        self.tx_rd = 0
        self.cr_shows = 0   # reads of Sn_CR still showing the command
        self.sending = None     # (frame, its Sn_TX_WR, Sn_IR reads until SENDOK)

    def get16(self, off):
        return (self.r[off] << 8) | self.r[off + 1]

    def set16(self, off, v):
        self.r[off] = (v >> 8) & 0xFF
        self.r[off + 1] = v & 0xFF


class W5500Model(SPIChip):
    def __init__(self):
        SPIChip.__init__(self)
        self.txmem = bytearray(_MEM)
        self.rxmem = bytearray(_MEM)
        self._reset()
        self._hdr = bytearray(3)
        self._nhdr = 0

    def slow_send(self, reads):
        """From now on a SEND completes (SENDOK, the frame on the wire) only after the host
        has read Sn_IR `reads` times: a chip still busy sending."""
        self.send_reads = reads

    def arrive_during_rsr_read(self, frame):
        """frame arrives between the two bytes of the next Sn_RX_RSR read, as the chip
        receives while the host reads: why 4.2 says to read it until two reads agree."""
        self._arrival = bytes(frame)

    def _reset(self):
        self._arrival = None
        self.send_reads = 0
        c = bytearray(0x3A)
        c[0x19] = 0x07          # RTR 0x07D0
        c[0x1A] = 0xD0
        c[0x1B] = 0x08          # RCR
        c[0x1C] = 0x28          # PTIMER
        c[0x39] = 0x04          # VERSIONR
        c[0x2E] = 0xB8          # PHYCFGR: RST off, all capable, auto-negotiation
        self.common = c
        self.sockets = [Socket() for _ in range(8)]
        self._update_int()

    # -- SPI

    def _begin(self):
        self._nhdr = 0

    def _end(self):
        if 0 < self._nhdr < 3:
            raise ModelError("SPI frame ended in its address/control phase (%d bytes)"
                             % self._nhdr)

    def _shift(self, out, inbuf, fill):
        n = len(out) if out is not None else len(inbuf)
        i = 0
        while i < n and self._nhdr < 3:
            self._hdr[self._nhdr] = out[i] if out is not None else fill
            if inbuf is not None:
                inbuf[i] = 0
            self._nhdr += 1
            i += 1
            if self._nhdr == 3:
                h = self._hdr
                self._addr = (h[0] << 8) | h[1]
                self._bsb = h[2] >> 3
                self._write = bool(h[2] & 0x04)
                if h[2] & 0x03:
                    raise ModelError("fixed-length SPI mode (OM=%d) is not modelled" % (h[2] & 3))
                if self._bsb and (self._bsb & 3) == 0:
                    raise ModelError("reserved block select 0x%02x" % self._bsb)
        if i < n:
            self._data(out, inbuf, i, n, fill)

    def _data(self, out, inbuf, i, n, fill):
        bsb = self._bsb
        addr = self._addr
        count = n - i
        if bsb and bsb & 3 != 1:
            self._memory(bsb, addr, out, inbuf, i, count, fill)
        else:
            for k in range(i, n):
                a = (addr + k - i) & 0xFFFF
                if self._write:
                    v = out[k] if out is not None else fill
                    if bsb == 0:
                        self._common_write(a, v)
                    else:
                        self._socket_write(bsb >> 2, a, v)
                    if inbuf is not None:
                        inbuf[k] = 0
                else:
                    v = self._common_read(a) if bsb == 0 else self._socket_read(bsb >> 2, a)
                    inbuf[k] = v
        self._addr = (addr + count) & 0xFFFF

    def _layout(self, n, tx):
        """(start, size) of socket n's TX or RX memory."""
        off = 0x1F if tx else 0x1E
        start = 0
        for k in range(n):
            start += self.sockets[k].r[off] * 1024
        size = self.sockets[n].r[off] * 1024
        if size == 0:
            raise ModelError("socket %d has no %s memory" % (n, "TX" if tx else "RX"))
        return start, size

    def _memory(self, bsb, addr, out, inbuf, i, count, fill):
        n = bsb >> 2
        tx = (bsb & 3) == 2
        mem = self.txmem if tx else self.rxmem
        start, size = self._layout(n, tx)
        s = self.sockets[n]
        if tx and not self._write:
            pass        # reading TX memory back is allowed
        elif tx:
            # bytes between Sn_TX_RD and the write must fit the free space (Sn_TX_FSR)
            if ((addr - s.tx_rd) & 0xFFFF) + count > size:
                raise ModelError("TX memory write beyond Sn_TX_FSR")
        elif self._write:
            raise ModelError("the driver wrote into the RX memory")
        else:
            if ((addr - s.rx_rd) & 0xFFFF) + count > ((s.rx_wr - s.rx_rd) & 0xFFFF):
                raise ModelError("RX memory read beyond the received data (Sn_RX_RSR)")
        if self._write:
            data = out[i:i + count] if out is not None else bytes([fill]) * count
            _ring(mem, start, size, addr, data, True)
            if inbuf is not None:
                inbuf[i:i + count] = bytes(count)
        else:
            view = memoryview(inbuf)[i:i + count]
            _ring(mem, start, size, addr, view, False)

    # -- common registers (4.1)

    def _common_read(self, a):
        if a > 0x39 or 0x2F <= a <= 0x38:
            raise ModelError("read of reserved common register 0x%04x" % a)
        if a == 0x17:       # SIR
            v = 0
            for n in range(8):
                if self.sockets[n].r[0x02]:
                    v |= 1 << n
            return v
        if a == 0x2E:
            return (self.common[a] & 0xF8) | (0x07 if self.link else 0)
        return self.common[a]

    def _common_write(self, a, v):
        if a > 0x39 or 0x2F <= a <= 0x38:
            raise ModelError("write to reserved common register 0x%04x" % a)
        if a in _COMMON_RO:
            raise ModelError("write to read-only common register 0x%04x" % a)
        if a == 0x17:
            raise ModelError("SIR is set from Sn_IR by the chip; clear Sn_IR instead")
        if a == 0x00:
            if v & 0x45:
                raise ModelError("MR: reserved bits 0x%02x set" % (v & 0x45))
            if v & 0x80:
                self._reset()
                return
        if a == 0x15:       # IR: write 1 to clear
            self.common[a] &= ~v & 0xFF
            self._update_int()
            return
        if a == 0x2E:
            v = (v & 0xF8) | (self.common[a] & 0x07)    # LNK SPD DPX are status
        self.common[a] = v
        if a in (0x16, 0x18):
            self._update_int()

    # -- socket registers (4.2)

    def _check_socket(self, off, what):
        if off >= 0x30 or off in _SOCK_RESERVED:
            raise ModelError("%s reserved socket register offset 0x%02x" % (what, off))

    def _socket_read(self, n, off):
        self._check_socket(off, "read of")
        s = self.sockets[n]
        if off == 0x02 and s.sending is not None:
            self._send_progress(s)
        if off == 0x01 and s.cr_shows:
            s.cr_shows -= 1
            return s.r[0x01]
        if off == 0x01:
            return 0
        if off in (0x20, 0x21):
            v = s.r[0x1F] * 1024 - ((s.get16(0x24) - s.tx_rd) & 0xFFFF)
            return (v >> 8) & 0xFF if off == 0x20 else v & 0xFF
        if off in (0x22, 0x23):
            return (s.tx_rd >> 8) & 0xFF if off == 0x22 else s.tx_rd & 0xFF
        if off in (0x26, 0x27):
            v = (s.rx_wr - s.rx_rd) & 0xFFFF
            if off == 0x27:
                return v & 0xFF
            if self._arrival is not None:
                f = self._arrival
                self._arrival = None
                self._store(f)      # after the high byte has gone out
            return v >> 8
        if off in (0x2A, 0x2B):
            return (s.rx_wr >> 8) & 0xFF if off == 0x2A else s.rx_wr & 0xFF
        return s.r[off]

    def _socket_write(self, n, off, v):
        self._check_socket(off, "write to")
        if off in _SOCK_RO:
            raise ModelError("write to read-only socket register offset 0x%02x" % off)
        s = self.sockets[n]
        if off == 0x00:
            p = v & 0x0F
            if p not in (0x00, 0x01, 0x02, 0x03, 0x04, 0x05):
                raise ModelError("Sn_MR: unknown protocol %d" % p)
            if p == MACRAW and n != 0:
                raise ModelError("MACRAW is for socket 0 only")
        elif off == 0x01:
            self._command(n, s, v)
            return
        elif off == 0x02:
            s.r[0x02] &= ~v & 0xFF
            self._update_int()
            return
        elif off in (0x1E, 0x1F):
            if v not in _BUF_KB:
                raise ModelError("buffer size %d KB is not one of %r" % (v, _BUF_KB))
        s.r[off] = v
        if off == 0x2C:
            self._update_int()

    def _command(self, n, s, cmd):
        if s.cr_shows:
            raise ModelError("Sn_CR written before the chip accepted the last command")
        if cmd not in _COMMANDS:
            raise ModelError("Sn_CR: unknown command 0x%02x" % cmd)
        s.r[0x01] = cmd
        s.cr_shows = 1
        if cmd == 0x01:
            if s.r[0x00] & 0x0F != MACRAW:
                raise ModelError("only MACRAW sockets are modelled")
            for off in (0x1E, 0x1F):
                if sum(x.r[off] for x in self.sockets) > 16:
                    raise ModelError("socket buffer sizes add up to more than 16 KB")
            s.r[0x03] = SOCK_MACRAW
            s.rx_wr = s.rx_rd = s.tx_rd = 0
            s.set16(0x24, 0)
            s.set16(0x28, 0)
        elif cmd == 0x10:
            s.r[0x03] = 0
        elif cmd == 0x20:
            self._send(n, s)
        elif cmd == 0x40:
            self._recv(s)
        else:
            raise ModelError("command 0x%02x is not modelled (MACRAW uses OPEN CLOSE SEND RECV)"
                             % cmd)

    def _send(self, n, s):
        if s.r[0x03] != SOCK_MACRAW:
            raise ModelError("SEND on a socket that is not open")
        wr = s.get16(0x24)
        length = (wr - s.tx_rd) & 0xFFFF
        start, size = self._layout(n, True)
        if length == 0 or length > size:
            raise ModelError("SEND of %d bytes (Sn_TX_WR - Sn_TX_RD)" % length)
        if length > 1514:
            raise ModelError("SEND of a %d-byte frame: longer than Ethernet allows" % length)
        if s.sending is not None:
            raise ModelError("SEND before the last one's SENDOK")
        frame = bytearray(length)
        _ring(self.txmem, start, size, s.tx_rd, frame, False)
        s.sending = (bytes(frame), wr, self.send_reads)
        self._send_progress(s)

    def _send_progress(self, s):
        """A transmission ends once the host has read Sn_IR send_reads times."""
        frame, wr, left = s.sending
        if left > 0:
            s.sending = (frame, wr, left - 1)
            return
        s.sending = None
        s.tx_rd = wr
        s.r[0x02] |= SENDOK
        self._update_int()
        self._emit(frame)

    def _recv(self, s):
        rd = s.get16(0x28)
        if ((rd - s.rx_rd) & 0xFFFF) > ((s.rx_wr - s.rx_rd) & 0xFFFF):
            raise ModelError("RECV with Sn_RX_RD past Sn_RX_WR")
        s.rx_rd = rd

    # -- the wire side

    def _store(self, frame):
        s = self.sockets[0]
        if s.r[0x03] != SOCK_MACRAW:
            self.stats["rx_filtered"] += 1
            return
        mr = s.r[0x00]
        dst = frame[0:6]
        bcast = dst == b"\xff" * 6
        if ((mr & 0x80 and not bcast and dst != bytes(self.common[0x09:0x0F]))
                or (mr & 0x40 and bcast) or (mr & 0x20 and dst[0] & 1 and not bcast)
                or (mr & 0x10 and frame[12:14] == b"\x86\xdd")):
            self.stats["rx_filtered"] += 1
            return
        start, size = self._layout(0, False)
        rec = 2 + len(frame)
        if rec > size - ((s.rx_wr - s.rx_rd) & 0xFFFF):
            self.stats["rx_overflow"] += 1
            return
        if s.rx_wr % size + rec > size:
            self.stats["rx_wrapped"] += 1
        _ring(self.rxmem, start, size, s.rx_wr, bytes([rec >> 8, rec & 0xFF]) + frame, True)
        s.rx_wr = (s.rx_wr + rec) & 0xFFFF
        s.r[0x02] |= RECV
        self.stats["rx"] += 1
        self._update_int()

    def _update_int(self):
        c = self.common
        active = bool(c[0x15] & c[0x16])
        for n in range(8):
            s = self.sockets[n]
            if c[0x18] & (1 << n) and s.r[0x02] & s.r[0x2C]:
                active = True
        self._set_int(active)
