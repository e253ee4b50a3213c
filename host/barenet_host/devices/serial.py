"""SLIP over a serial port through pyserial: `serial:PORT[@BAUD][,crc][,rtscts|xonxoff]`.

PORT is a device path (/dev/ttyACM0, a /dev/pts/N, a symlink such as /dev/serial/by-id/...)
or a pyserial URL (loop://, socket://HOST:PORT, rfc2217://HOST:PORT): serial_for_url opens
both. The port is nonblocking; a device path is opened exclusively (pyserial `exclusive`, a
flock), so a second barenet, or a terminal left on the port, is refused in one line.

When the port goes away (a USB board unplugged: reads and writes fail), the NIC says so in one
line, drops frames (counted) and reopens the same PORT every RETRY_MS until the board is back
(slipnic.py). URL ports without an fd (loop://) are read on a short clock instead of the
runner's select (slipnic.NO_FD_POLL_MS).
"""

import errno
import select

import serial

from barenet.wire import slip
from barenet_host.devices.slipnic import SlipNIC, log_stderr

RETRY_MS = 500


def _open_error(port, e):
    """pyserial's open failures, as one line that says what to do."""
    text = str(e)
    if "exclusively lock" in text:
        why = "in use by another program (a terminal or another barenet has it open)"
    elif e.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        why = "no such device (is the board plugged in?)"
    elif e.errno in (errno.EACCES, errno.EPERM):
        why = "permission denied (add yourself to the dialout group)"
    elif e.errno == errno.EBUSY:
        why = "device busy"
    else:
        why = e.strerror or text
    return OSError(e.errno, "cannot open serial port %r: %s" % (port, why))


def _gone():
    # pyserial words an unplugged port several ways ("device reports readiness to read but
    # returned no data ...", "read failed: [Errno 5] ..."): the user needs one
    return OSError(errno.EIO, "disconnected")


class SerialTransport:
    """The byte transport (slipnic.py) of a pyserial port; reopened from scratch each time."""

    retry_ms = RETRY_MS

    def __init__(self, port, baud=115200, flow=None):
        self.port = port
        self.baud = baud
        self.flow = flow
        self.name = "serial " + port
        self.ser = None
        self.fd = None

    def open(self):
        try:
            ser = serial.serial_for_url(self.port, baudrate=self.baud, timeout=0,
                                        rtscts=self.flow == "rtscts",
                                        xonxoff=self.flow == "xonxoff", exclusive=True,
                                        do_not_open=True)
            ser.open()
        except ValueError as e:      # a URL pyserial does not know, a bad setting
            raise ValueError("serial port %r: %s" % (self.port, e)) from None
        except OSError as e:         # serial.SerialException is an OSError
            raise _open_error(self.port, e) from None
        try:
            self.fd = ser.fileno()
            # pyserial's own nonblocking write retries EAGAIN until the port takes something:
            # asking select first keeps a full port from spinning here
            ser.write_timeout = 0
        except (OSError, ValueError):   # io.UnsupportedOperation: a URL handler without an fd
            self.fd = None
        self.ser = ser

    def fileno(self):
        return self.fd

    def read(self, n):
        try:
            return self.ser.read(n)
        except serial.SerialException:
            raise _gone() from None

    def write(self, data):
        try:
            if self.fd is not None:
                if not select.select((), (self.fd,), (), 0)[1]:
                    return 0
                return self.ser.write(data)
            # loop:// queues bytes one by one in a bounded queue and blocks when it is full;
            # take only what fits, so that a NIC reading its own loop never waits on itself
            room = getattr(self.ser, "buffer_size", len(data)) - self.ser.in_waiting
            return self.ser.write(data[:room]) if room > 0 else 0
        except serial.SerialException:
            raise _gone() from None

    def close(self):
        if self.ser is not None:
            ser, self.ser, self.fd = self.ser, None, None
            try:
                ser.close()
            except OSError:
                pass    # the device is already gone


def open_spec(spec, log=log_stderr):
    """`serial:PORT[@BAUD][,crc][,rtscts|xonxoff][,mtu=N]` (devices/spec.py) -> a SlipNIC."""
    return SlipNIC(SerialTransport(spec.target, spec.baud, spec.flow),
                   mtu=spec.mtu or slip.DEFAULT_MTU, crc=spec.crc, log=log)
