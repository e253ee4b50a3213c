# Imported by the vm_kernel_*.py scripts inside the MicroPython VM: a board as a Wi-Fi board
# runs barenet, its frames tunnelled through the runtime's own UDP socket (the tunnel driver,
# firmware/drivers/udp_link.py) to a relay onto a TAP in a netns, where the kernel peer lives.
import time

from drivers.udp_link import UDPLink   # before install(): it needs the runtime's socket
from poll_driver import PollDriver
from barenet.loop import Loop
from barenet.stack import Stack

MAC = b"\x02\x00\xc0\x00\x02\x02"
IP = "192.0.2.2/24"
KERNEL = "192.0.2.1"


def board(relay_port, profile="board", **limits):
    """-> (stack, driver): a stack (the profile, with limits as Stack overrides) on a tunnel
    link to 127.0.0.1:relay_port, and the blocking sockets' driver, which waits in
    select.poll on the link's UDP socket."""
    link = UDPLink("127.0.0.1", relay_port)
    stack = Stack(profile, **limits)
    stack.add_interface(link, mac=MAC, ip=IP, now_ms=time.ticks_ms())
    return stack, PollDriver(Loop(stack), [link.sock])


def sha(data):
    import hashlib
    return "".join("%02x" % x for x in hashlib.sha256(data).digest())
