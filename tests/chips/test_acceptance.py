"""The acceptance cases (acceptance.py) in CPython, one test each; vm_acceptance.py runs the
same cases in the MicroPython VM (test_chips_vm.py)."""

import pytest

import acceptance

pytestmark = pytest.mark.timeout(120)

RUNS = list(acceptance.each())


@pytest.mark.parametrize("fn, chip, irq", [r[1:] for r in RUNS], ids=[r[0] for r in RUNS])
def test_acceptance(fn, chip, irq):
    fn(chip, irq)
