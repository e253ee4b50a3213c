# Runs inside the MicroPython VM: one scenario of scenarios.py in a BarenetWorld (argv: its name,
# a JSON list of arguments, the stacks' profile); prints its result as one JSON line for
# test_examples.py to check.
import json
import sys

import scenarios

r = getattr(scenarios, sys.argv[1])(scenarios.BarenetWorld(sys.argv[3]), *json.loads(sys.argv[2]))
print(json.dumps(r))
