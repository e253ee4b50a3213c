"""The chip tests import the fake machine module and the models from here, and the drivers
as a board does (`drivers.w5500`), from firmware/."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "firmware")
for p in (HERE, FIRMWARE):
    if p not in sys.path:
        sys.path.insert(0, p)
