"""Host NICs: each a pull NIC (barenet/nic.py) with fileno() for the runner's select()."""
