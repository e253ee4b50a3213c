"""The fair floor for a userspace stack (issue 13): the Linux kernel behind a minimal Python
relay that copies each frame between two TAPs, one os.read and one os.write per frame.

    client netns: TAP a, 192.0.2.1  <-- this relay -->  TAP b, 192.0.2.2: server netns

With --offload both TAPs are opened with IFF_VNET_HDR and TUNSETOFFLOAD (TUN_F_CSUM |
TUN_F_TSO4): the kernel on each side hands over GSO super-frames of up to 64 KB with their
virtio_net_hdr, and the relay passes them whole, so the other kernel receives them as one
packet. bench/tcp_tap.py measures barenet against this, in the same run.

Run as a program (`python bench/tap_relay.py TAP_A TAP_B [--offload]`) it attaches to both
(existing) TAPs, prints "ready" and relays until killed; relay_reference() builds the
namespaces around it.
"""

import contextlib
import os
import select
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "host"))

from barenet_host.devices.tuntap import IFF_TAP, open_fd  # noqa: E402
from barenet_host.netns import NetNS, unique_name  # noqa: E402

# A GSO super-frame: 64 KB of IP datagram, the Ethernet header and the 10-byte virtio_net_hdr.
FRAME_MAX = 65536 + 14 + 10


def relay(name_a, name_b, offload):
    a = open_fd(name_a.encode(), IFF_TAP, vnet_hdr=offload)
    b = open_fd(name_b.encode(), IFF_TAP, vnet_hdr=offload)
    os.set_blocking(a, True)
    os.set_blocking(b, True)
    other = {a: b, b: a}
    poller = select.poll()
    poller.register(a, select.POLLIN)
    poller.register(b, select.POLLIN)
    print("ready", flush=True)
    while True:
        for fd, _ in poller.poll():
            try:
                os.write(other[fd], os.read(fd, FRAME_MAX))
            except OSError:
                pass        # a full queue or a link not yet up drops the frame, as a wire would


@contextlib.contextmanager
def relay_reference(client_ip, server_ip, server_argv, offload, wait_line):
    """Yield the client namespace; behind it, the relay, and in the server namespace the kernel
    at server_ip running server_argv (which prints "ready"). wait_line(proc, prefix) waits for
    a process's first line."""
    with NetNS() as client, NetNS() as server:
        ta, tb = unique_name("ra"), unique_name("rb")
        client.tuntap_add(ta)
        client.tuntap_add(tb)
        procs = []
        try:
            rel = client.popen([sys.executable, os.path.abspath(__file__), ta, tb]
                               + (["--offload"] if offload else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(rel)
            wait_line(rel, "ready")
            # The relay's fd stays attached to TAP b while the interface moves namespace.
            client.ip("link", "set", tb, "netns", server.name)
            client.addr(ta, client_ip + "/24")
            client.up(ta)
            server.addr(tb, server_ip + "/24")
            server.up(tb)
            srv = server.popen(server_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
            procs.append(srv)
            wait_line(srv, "ready")
            yield client
        finally:
            for p in procs:
                p.kill()
                p.communicate()


if __name__ == "__main__":
    relay(sys.argv[1], sys.argv[2], "--offload" in sys.argv[3:])
