"""The NIC protocol: what the stack and the loop step need from a network device, written once.

Every NIC is a *pull* device: the loop step (loop.py) asks it for frames; nothing pushes
frames into the stack. A NIC is any object with:

    send(frame)
        Hand one frame to the link. `frame` is bytes, a bytearray or a memoryview that is
        valid only during the call: copy it to keep it. Link trouble (a full queue, a cable
        out) is not an exception: the frame is dropped and counted, as a real NIC drops it,
        and ARP and TCP timers recover. An exception here would escape the stack. A NIC
        may return False for a frame it did not take (an SPI chip still sending) and True
        for one it did; the stack needs neither.
    recv_into(buf) -> n
        Copy the oldest received frame into buf and return its length; 0 when none is
        waiting. Never blocks. A frame longer than buf arrives truncated to len(buf), and the
        stack's length checks drop it.
    mtu        the largest IP datagram the link carries (1500 on Ethernet; 1006 is SLIP's
               RFC 1055 default). Optional: 1500.
    mac        6 bytes (Ethernet links; may instead be given to Stack.add_interface).
    link       "ethernet": frames start with an Ethernet II header (TAP, W5500 MACRAW,
               ENC28J60); "ip": frames are bare IPv4 datagrams (TUN, SLIP). Optional:
               "ethernet".
    stats      a dict of counters, named like the stack's: rx, tx, drop_<reason>.

and optionally:

    poll(now_ms) -> wait
        Called by the loop step twice per step, with the step's time: first before it reads
        frames (the NIC learns the time and releases what is due), then after the stack ran
        (for what the stack just sent). Returns ms until the NIC next needs a step (None:
        only when a frame arrives; 0: at once). Fault models and pcap writers need it; so do
        chips that must be serviced on a clock.
    link_up
        False while the carrier is gone (cable out, USB serial port unplugged). The loop step
        reports changes to the stack. Absent: always up.
    fileno()
        Host NICs only: an fd the host runner select()s on to sleep until a frame arrives.

Offloads (a TAP opened with IFF_VNET_HDR, barenet_host/devices/tuntap.py), all optional; a NIC
without them (every board's) gets exactly the frames and checks of a plain link:

    csum_offload
        True: after each recv_into, `rx_csum_valid` says whether the frame's TCP and UDP
        checksums may be trusted unverified (the NIC or its kernel checked them, or they are
        a local sender's and were never computed). The IPv4 header checksum is always checked.
    rx_max
        The largest IP datagram recv_into may deliver, beyond the MTU: a receive offload's
        super-frame (up to 65535). The interface reads with a buffer this large.
    tso_max
        The largest IP datagram `send_tso` takes (up to 65535).
    send_tso(frame, mss)
        Hand over one TCP super-segment beyond the MTU whose checksum field holds only the
        pseudo-header sum (wire.tcp.partial_checksum): the NIC completes the checksum and
        cuts the payload into segments of mss bytes, each behind a copy of the headers with
        its sequence number advanced (TSO). TCP sends one only for whole MSS-sized pieces.

Middleware (fault injection, pcap capture: barenet_host.faults, barenet_host.pcap) wraps a
NIC and has the same protocol: what it holds back comes out of its own `recv_into`, and its
`poll` tells the loop when that will be, so a wrapped NIC is driven exactly like a bare one.
"""

ETHERNET = "ethernet"
IP = "ip"


class Wrapper:
    """The base of NIC middleware: the link facts and fileno() are the wrapped NIC's."""

    def __init__(self, nic):
        self.nic = nic

    @property
    def link(self):
        return getattr(self.nic, "link", ETHERNET)

    @property
    def mtu(self):
        return getattr(self.nic, "mtu", 1500)

    @property
    def mac(self):
        return getattr(self.nic, "mac", None)

    @property
    def link_up(self):
        return getattr(self.nic, "link_up", True)

    def frame_max(self):
        """The longest frame the wrapped NIC can deliver (its MTU plus the link header)."""
        return self.mtu + (14 if self.link == ETHERNET else 0)

    def fileno(self):
        return self.nic.fileno()
