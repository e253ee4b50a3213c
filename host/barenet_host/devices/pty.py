"""SLIP over a new pseudo-terminal: `pty[,crc][,mtu=N]`. The NIC speaks SLIP on the master;
the peer (a MicroPython unix VM, `slattach`, another barenet on `serial:/dev/pts/N`) opens the
slave, whose path is `.path` for the command to print.

The slave is put in raw mode (no echo, no line editing, no CR/NL mapping, no XON/XOFF) before
anyone opens it, and the NIC keeps one slave fd open itself: without it the master reads EIO
each time the last peer closes the slave (pty(7)), and settings would be lost in between. So the
link stays up whoever comes and goes; what was written while no peer listened waits in the
pty's buffer, and the receiver's decoder resynchronises at the next END.
"""

import os
import tty

from barenet.wire import slip
from barenet_host.devices.slipnic import SlipNIC, log_stderr


class PtyTransport:
    """The byte transport (slipnic.py) of a pty master; it opens once and is never lost."""

    retry_ms = None

    def __init__(self):
        self.master = self.slave = -1
        self.path = None
        self.name = "pty"

    def open(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        self.path = os.ttyname(slave)
        self.name = "pty " + self.path

    def fileno(self):
        return self.master if self.master >= 0 else None

    def read(self, n):
        try:
            return os.read(self.master, n)
        except BlockingIOError:
            return b""

    def write(self, data):
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0

    def close(self):
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


def open_spec(spec, log=log_stderr):
    """`pty[,crc][,mtu=N]` (devices/spec.py) -> a SlipNIC on a new pty; `.path` is the slave."""
    t = PtyTransport()
    nic = SlipNIC(t, mtu=spec.mtu or slip.DEFAULT_MTU, crc=spec.crc, log=log)
    nic.path = t.path
    return nic
