"""The user-mode NAT bridge's gateway (issue 10): the board's flows carried on host sockets,
and the gateway's own services for the board (dhcpd.py: its address; dnsfwd.py: names)."""
