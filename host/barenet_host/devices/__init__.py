"""Host NICs: each a pull NIC (barenet/nic.py) with fileno() for the runner's select().

TAP only so far (tap.py); TUN, serial, pty and AF_UNIX links are the host harness's issue. The
middleware that wraps any NIC, fault injection and capture, is in barenet_host/faults.py and
pcap.py, beside the runner; the virtual-wire simulator the tests use is vwire.py.
"""
