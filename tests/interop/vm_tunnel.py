"""A MicroPython VM as a board reached through a tunnel: a relay thread between a TAP (its
kernel side in a netns) and a UDP device on 127.0.0.1 that the VM's tunnel NIC
(firmware/drivers/udp_link.py) sends its frames to (test_vm_kernel.py, test_vm_many_clients.py,
bench/vm_many_clients.py)."""

import threading

from barenet_host.devices.udp import UDPDevice
from barenet_host.relay import Relay


class Tunnel:
    """A relay thread between the test's TAP and a UDP device on 127.0.0.1 (any free port)."""

    def __init__(self, tap):
        self.udp = UDPDevice(0)
        self.port = self.udp.addr[1]
        self.relay = Relay(tap, self.udp)
        self.thread = threading.Thread(target=self.relay.run, kwargs={"timeout_s": 300},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.relay.stop()
        self.thread.join(10)
        self.relay.close()
        self.udp.close()
