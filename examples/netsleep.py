"""sleep() for programs that may run on barenet's single-threaded sockets.

barenet's blocking calls run the stack while they wait; time.sleep() does not, so a program
that slept would answer no ARP, acknowledge nothing and retransmit nothing meanwhile. Waiting
in a socket call with a timeout lets the stack run; on a kernel it is simply a sleep.
"""

import socket


def sleep(seconds):
    """Wait about `seconds` (less only if a stray datagram reaches the throwaway port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(seconds)
        try:
            s.recvfrom(1)
        except OSError:     # the timeout: TimeoutError on CPython, ETIMEDOUT on MicroPython
            pass
    finally:
        s.close()
