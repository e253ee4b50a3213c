"""The board's NIC, built from config.json's `link` (schema: boards/README.md), with what the
main loop waits on. Only the driver the board uses is imported: a board's heap holds no
other.

    nic, waitables = netdev.make(cfg["link"], mac)

Drivers (firmware/drivers/): `w5500` and `enc28j60` on machine.SPI with their CS, INT and
reset pins; `slip_uart` (SLIP on machine.UART); `udp_tunnel` (frames in UDP datagrams over
the port's own network stack, after joining the Wi-Fi network); `vnic`, the virtual board's
link, named by the environment variable BARENET_VNIC: `unix:PATH`, an AF_UNIX stream to the
host's `unix:PATH` device (barenet bridge --board unix:PATH), or a pty's path (--board pty).
"""

import os
import time

EAGAIN = 11

RESET_LOW_MS = 1      # W5500 datasheet 5.5.1: RSTn low at least 500 us; ENC28J60: 2 us
RESET_WAIT_MS = 60    # W5500: PLL lock and the PHY's auto-negotiation start, under 50 ms
WIFI_WAIT_MS = 15000  # joining the access point


class ConfigError(ValueError):
    """config.json names a driver or a setting this board cannot have."""


def auto_mac(hostname):
    """A locally administered unicast MAC (IEEE 802: bit 1 of the first byte set, bit 0
    clear) from the chip's unique id, or on the unix VM from the hostname."""
    try:
        import machine
        uid = machine.unique_id()
    except (ImportError, AttributeError):
        import hashlib
        uid = hashlib.sha256(hostname.encode()).digest()
    uid = bytes(uid)
    return b"\x02" + (b"\x00" * 5 + uid)[-5:]


def parse_mac(text, hostname):
    if text in (None, "auto"):
        return auto_mac(hostname)
    parts = text.split(":")
    try:
        mac = bytes(int(p, 16) for p in parts)
    except ValueError:
        mac = b""
    if len(parts) != 6 or len(mac) != 6 or mac[0] & 1:
        raise ConfigError("link.mac %r is not a unicast MAC aa:bb:cc:dd:ee:ff" % (text,))
    return mac


def make(link, mac):
    """-> (nic, [waitables for select.poll])."""
    driver = link.get("driver")
    opener = _OPENERS.get(driver)
    if opener is None:
        raise ConfigError("link.driver %r is not one of %s" % (driver, ", ".join(
            sorted(_OPENERS))))
    return opener(link, mac)


def _pin(machine, n, mode):
    return None if n is None else machine.Pin(n, mode)


def _spi_chip(link, mac, cls):
    import machine
    s = link["spi"]
    spi = machine.SPI(s["id"], baudrate=s["baudrate"], polarity=0, phase=0,
                      sck=machine.Pin(s["sck"]), mosi=machine.Pin(s["mosi"]),
                      miso=machine.Pin(s["miso"]))
    cs = machine.Pin(link["cs"], machine.Pin.OUT, value=1)
    reset = _pin(machine, link.get("reset"), machine.Pin.OUT)
    if reset is not None:
        reset.value(0)
        time.sleep_ms(RESET_LOW_MS)
        reset.value(1)
        time.sleep_ms(RESET_WAIT_MS)
    intn = None
    if link.get("int") is not None:
        intn = machine.Pin(link["int"], machine.Pin.IN, machine.Pin.PULL_UP)
    nic = cls(spi, cs, mac, intn)
    return nic, [nic.waitable] if nic.waitable is not None else []


def _w5500(link, mac):
    from drivers.w5500 import W5500
    return _spi_chip(link, mac, W5500)


def _enc28j60(link, mac):
    from drivers.enc28j60 import ENC28J60
    return _spi_chip(link, mac, ENC28J60)


def _slip_uart(link, mac):
    import machine
    from drivers.slip_stream import SlipStream
    u = link["uart"]
    uart = machine.UART(u["id"], baudrate=u["baudrate"], tx=machine.Pin(u["tx"]),
                        rx=machine.Pin(u["rx"]), timeout=0, rxbuf=2048)
    return SlipStream(uart, crc=link.get("crc", False)), [uart]


def _udp_tunnel(link, mac):
    wifi = link.get("wifi") or {}
    if wifi.get("ssid"):
        import network
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        if not wlan.isconnected():
            wlan.connect(wifi["ssid"], wifi.get("password", ""))
            start = time.ticks_ms()
            while not wlan.isconnected():
                if time.ticks_diff(time.ticks_ms(), start) > WIFI_WAIT_MS:
                    raise OSError("Wi-Fi network %r did not let the board join" % wifi["ssid"])
                time.sleep_ms(100)
    if not link.get("host"):
        raise ConfigError("link.host is empty: the address of `barenet bridge --board udp:PORT`")
    from drivers.udp_link import UDPLink
    # its poll tells the host end where the board is, from the first loop step on
    nic = UDPLink(link["host"], link.get("port", 5555))
    return nic, [nic.sock]


class UnixStream:
    """The virtual board's end of its AF_UNIX link: a nonblocking stream socket to the host's
    `unix:PATH` device, down (`up` False) from the host end's close until reopen() finds it
    listening again (the bridge restarted: a cable replugged)."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.up = False
        self.reopen()

    def reopen(self):
        """-> the new socket, or None while nothing listens at path."""
        from drivers.slip_stream import connect_unix
        try:
            self.sock = connect_unix(self.path)
        except OSError:
            return None
        self.up = True
        return self.sock

    def _drop(self):
        self.sock.close()
        self.up = False

    def read(self, n):
        if not self.up:
            return None
        try:
            d = self.sock.read(n)       # None: nothing waiting (EAGAIN)
        except OSError:
            d = b""                     # ECONNRESET
        if d == b"":
            self._drop()                # the host end closed
            return None
        return d

    def write(self, data):
        if not self.up:
            return 0                    # SLIP frames wait in the line's bounded queue
        try:
            return self.sock.write(data)
        except OSError as e:
            if e.args[0] != EAGAIN:
                self._drop()            # EPIPE
            return 0


class PtyStream:
    """The virtual board's end of a pty (`barenet bridge --board pty`, barenet virtual-board):
    the unix port's files have no nonblocking mode, and their read(n) waits for all n bytes
    (py/stream.c), so a byte is read only while poll says one is waiting. A pty has no
    carrier: `up` stays True."""

    up = True

    def __init__(self, path):
        import select
        self.sock = open(path, "r+b")       # what the main loop's select.poll waits on
        self._poll = select.poll()
        self._poll.register(self.sock, select.POLLIN)

    def read(self, n):
        got = bytearray()
        while len(got) < n and self._poll.poll(0):
            got += self.sock.read(1)
        return bytes(got) or None

    def write(self, data):
        return self.sock.write(data)


def _vnic(link, mac):
    where = os.getenv("BARENET_VNIC")
    if not where:
        raise ConfigError("link.driver vnic needs BARENET_VNIC (barenet virtual-board sets it)")
    from drivers.slip_stream import SlipStream
    if where.startswith("unix:"):
        stream = UnixStream(where[5:])
    else:
        try:
            stream = PtyStream(where)
        except OSError as e:
            raise ConfigError("BARENET_VNIC %r is neither unix:PATH nor a pty: %s" % (where, e))
    return SlipStream(stream, crc=link.get("crc", False)), [stream.sock] if stream.up else []


_OPENERS = {"w5500": _w5500, "enc28j60": _enc28j60, "slip_uart": _slip_uart,
            "udp_tunnel": _udp_tunnel, "vnic": _vnic}
