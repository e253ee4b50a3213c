"""User-mode NAT for `barenet bridge --nat` (issue 10 item 5), in the manner of QEMU's slirp:
no root, no kernel interface. A barenet Stack on the board link is the board's gateway; made
transparent (IP.transparent and the transports' catch_all hooks), it terminates the board's
TCP connections, UDP flows and pings to any address and carries each on an ordinary host
socket on the Runner. Its own services for the board: its address (dhcpd.py) and names
(dnsfwd.py).

    table.py     the NAT table: bounded, idle timeouts per protocol (RFC 4787, 5382, 5508)
    allow.py     the destination allow-list (--nat-allow)
    tcp.py       a board connection spliced to a host socket, with backpressure both ways
    udp.py       a board UDP flow on a connected host UDP socket
    icmp.py      the board's pings on unprivileged ICMP sockets
    flow.py      what those two share: a connected host datagram socket per flow
    forward.py   --forward: host listening sockets whose connections go to a board port
    gateway.py   the gateway: the hooks, the table, the runner task; `ctl nat`'s data
    dhcpd.py     the DHCP server that gives the board its address
    dnsfwd.py    the DNS forwarder on the gateway's port 53, to the host's resolver
"""
