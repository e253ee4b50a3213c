"""A TCP echo exchange for tests: send data on a connected kernel socket while reading the echo
back (both at once, so neither side's window closes on the other), then half-close."""

import select
import socket


def echo_exchange(s, data, timeout_s=30):
    """-> the bytes echoed back, up to len(data) or the peer's end; TimeoutError when neither
    way moves for timeout_s."""
    got = bytearray()
    sent = 0
    s.setblocking(False)
    while len(got) < len(data):
        r, w, _ = select.select([s], [s] if sent < len(data) else [], [], timeout_s)
        if not r and not w:
            raise TimeoutError("stalled at %d received, %d sent" % (len(got), sent))
        if w:
            sent += s.send(data[sent:sent + 65536])
            if sent == len(data):
                s.shutdown(socket.SHUT_WR)
        if r:
            d = s.recv(65536)
            if not d:
                break
            got += d
    s.setblocking(True)
    return bytes(got)
