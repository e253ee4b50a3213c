"""The unchanged drivers and the chip models in the real MicroPython VM (DESIGN.md testing
layer 4 and 5): the models use only what MicroPython has, so the firmware's own runtime runs
the drivers' SPI transactions, and two stacks talk through each chip."""

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "micropython"))
from test_micropython import REPO, run_vm  # noqa: E402

SIZE = 100000   # several times the W5500 RX memory and the ENC28J60 receive FIFO


@pytest.mark.timeout(300)
def test_drivers_on_the_models_in_the_vm():
    r = json.loads(run_vm(os.path.join(HERE, "vm_chips.py"), SIZE, timeout=280,
                          path=[HERE, os.path.join(REPO, "firmware")]))
    for chip in ("w5500", "enc28j60"):
        assert r[chip]["ping"] == [56, 1472], r
        assert r[chip]["down"] == [SIZE, True] and r[chip]["up"] == [SIZE, True], r
        assert r[chip]["drop_rx_bad"] == 0
        # select.poll on drv.waitable: idle, then readable after the INT edge, idle once read
        assert r[chip]["poll"] == [0, 1, 100, 0], r
    assert r["enc28j60"]["wrapped"] >= 1
    assert r["w5500"]["wrapped"] >= 1


@pytest.mark.timeout(600)
def test_the_acceptance_cases_in_the_vm():
    import acceptance
    r = json.loads(run_vm(os.path.join(HERE, "vm_acceptance.py"), timeout=580,
                          path=[HERE, os.path.join(REPO, "firmware")]))
    # the same runs as in CPython (test_acceptance.py), each passed in the VM
    assert sorted(r) == sorted(name for name, _, _, _ in acceptance.each())
    assert {k: v for k, v in r.items() if v != "ok"} == {}
