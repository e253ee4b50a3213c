"""examples/chat_poll.py in the MicroPython VM as a board with a small heap, its kernel
clients in the netns (test_vm_many_clients.py, bench/vm_many_clients.py): one run is the VM
(tests/micropython/vm_many_server.py) with `-X heapsize=H` and the board profile's
max_connections set, and tests/interop/many_chat_clients.py inside the netns.

The VM loads the core as source compiled in its heap, as a board that copies .py files does.
"""

import json
import os
import subprocess
import sys

from conftest import BARENET_IP, readline
from vm_tunnel import Tunnel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VM_DIR = os.path.join(REPO, "tests", "micropython")
sys.path.insert(0, VM_DIR)
from test_micropython import MICROPYTHON, vm_env  # noqa: E402

PATH = [os.path.join(REPO, "firmware"), os.path.join(REPO, "examples")]
CLIENTS = os.path.join(HERE, "many_chat_clients.py")
PORT = 7000


def serve_many(ns, tap, heap, max_connections, clients, lines, timeout_s=60):
    """One run -> (the VM's JSON or None, its exit status, its stderr, the clients' JSON or
    None, their stderr). The VM ends once its clients have left (or after timeout_s)."""
    t = Tunnel(tap)
    vm = subprocess.Popen([MICROPYTHON, "-X", "heapsize=%d" % heap,
                           os.path.join(VM_DIR, "vm_many_server.py"), str(t.port),
                           str(max_connections), str(timeout_s)],
                          cwd=REPO, env=vm_env(PATH), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    cl = None
    try:
        first = readline(vm.stdout, 30)
        if first.startswith("listening"):
            cl = ns.popen([sys.executable, CLIENTS, BARENET_IP, str(PORT), str(clients),
                           str(lines), str(timeout_s - 10)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            c_out, c_err = cl.communicate(timeout=timeout_s + 10)
        else:
            c_out, c_err = "", "the VM did not start listening: %r" % first
        out, err = vm.communicate(timeout=timeout_s + 10)
    finally:
        for p in (vm, cl):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate(timeout=10)
        t.close()
    # the unix VM prints an uncaught exception on stdout
    return _last_json(out), vm.returncode, err + out[-4000:], _last_json(c_out), c_err


def _last_json(out):
    lines = out.strip().splitlines()
    try:
        return json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
