"""`barenet run [--tap NAME --ip ADDR/PREFIX [--gw ADDR]] SCRIPT [ARGS...]`: a user's program
over barenet on the host, the way it will run on a board.

The script runs as `__main__` (runpy, as `python SCRIPT ARGS` would: sys.argv is the script and
its arguments, its directory is first on sys.path) after barenet.socket.install(): its `import
socket` / `import usocket` get barenet's module, and each blocking call runs the stack through
a RunnerDriver, in this one thread, as on a board. With --tap the stack has that TAP (attached
to if it exists, otherwise created and gone again at exit, as `serve` does); without, it has
only its loopback (127.0.0.1), for programs that talk to themselves.

When the script ends, its sockets are closed as a process's exit closes them, and the stack runs
on until their connections are done (FIN exchanged, data acknowledged) or LINGER_S passes, so
the last reply of a server that returns at once still reaches its peer. SIGTERM ends the script
with SystemExit(143), so its `finally` blocks run; Ctrl-C is a KeyboardInterrupt in it.
"""

import os
import runpy
import signal
import sys

from barenet import socket as bsock
from barenet.stack import Stack

from barenet_host.runner import Runner, RunnerDriver, now_ms

LINGER_S = 5.0
EXIT_SIGTERM = 128 + signal.SIGTERM


def _sigterm(signum, frame):
    raise SystemExit(EXIT_SIGTERM)


def exit_status(code):
    """SystemExit's code as the process status: None 0, an int itself, else 1 (printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_script(stack, runner, script, args):
    """Run script as __main__ over stack; -> its exit status. Its exceptions propagate."""
    saved = sys.argv[:], sys.path[:]
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    old = signal.signal(signal.SIGTERM, _sigterm)
    bsock.install(stack, RunnerDriver(runner))
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        code = exit_status(e.code)
    finally:
        bsock.uninstall()
        signal.signal(signal.SIGTERM, old)
        sys.argv, sys.path = saved
        linger(stack, runner)
    return code


def linger(stack, runner, timeout_s=LINGER_S):
    """Close what the script left open, then run the stack until its connections are done."""
    tcp = stack.tcp
    for lst in list(tcp.listeners.values()):
        lst.close()
    for c in tcp.connections():
        if not c.user_closed:
            c.close()
    runner.run(until=lambda: not tcp.connections(), timeout_s=timeout_s)


def make_stack(tap=None, mac=None, cidr=None, gateway=None, mtu=1500):
    stack = Stack("host")
    if tap is not None:
        stack.add_interface(tap, mac=mac, ip=cidr, gateway=gateway, mtu=mtu, now_ms=now_ms())
    return stack, Runner(stack)
