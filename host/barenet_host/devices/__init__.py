"""Host NICs: each a pull NIC (barenet/nic.py) with fileno() for the runner's select().

spec.py parses the one device syntax every command takes (`tap:NAME`, `tun:NAME`,
`serial:PORT[@BAUD][,crc]`, `pty`, `unix:PATH`, `udp:[ADDR:]PORT`) and opens the device it
names. The middleware that wraps any NIC, fault injection and capture, is in
barenet_host/faults.py and pcap.py, beside the runner; the virtual-wire simulator the tests use
is vwire.py.
"""
