# Runs inside the MicroPython VM: import each module named on the command line and print one
# line per module, "ok NAME" or "FAIL NAME: ExceptionType: message".
import sys

for name in sys.argv[1:]:
    try:
        __import__(name)
        print("ok", name)
    except Exception as e:
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
