"""DHCP and DNS in the real MicroPython VM (DESIGN.md testing layer 4): the board's client gets
a lease from the gateway's server on the virtual wire across the tick wrap, renews it, and
resolves a name through the server the lease named (vm_dhcp.py)."""

import json

from test_micropython import run_vm


def test_board_gets_a_lease_renews_and_resolves_in_the_vm():
    before_wrap = 2000
    r = json.loads(run_vm("vm_dhcp.py", before_wrap))
    assert r["configured_before"] is False
    info = r["info"]
    assert info["state"] == "BOUND" and info["address"] == "192.0.2.100/24"
    assert info["router"] == "192.0.2.1" and info["dns"] == ["192.0.2.1"]
    assert info["lease_s"] == 120 and info["stats"]["tx_discover"] == 1
    # three probes 1 s apart and a second more: bound after 3 to 4 s, past the wrap
    assert 3000 <= r["bound_after_ms"] <= 4100 and r["bound_after_ms"] > before_wrap
    assert r["renewed"] == 1 and r["state"] == "BOUND"
    assert r["resolved"] == ["192.0.2.9"]
    assert r["by_socket"] == ["192.0.2.9", 80] and r["gaierror"] == [-2, True]
    assert r["leases"] == [["01020000000002", "192.0.2.100", True]]
