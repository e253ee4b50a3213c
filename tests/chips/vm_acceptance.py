# Runs in the MicroPython VM: every acceptance case (acceptance.py), unchanged, for both
# chips, with and without an INT pin; prints {case id: "ok" or the failure} as JSON.
import json

import acceptance

print(json.dumps(acceptance.run_all()))
