# Runs inside the MicroPython VM: one scenario of scenarios.py (argv: its name and a JSON list
# of arguments); prints its result as one JSON line for test_examples_vwire.py to check.
import json
import sys

import scenarios

r = getattr(scenarios, sys.argv[1])(*json.loads(sys.argv[2]))
print(json.dumps(r))
