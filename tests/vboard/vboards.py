"""A virtual board (barenet virtual-board) driven by the real mpremote: the tests' handle on it.
Its own module, not conftest.py: at run time `conftest` may name another directory's."""

import os
import subprocess
import sys

BIN = os.path.dirname(sys.executable)
# mpremote on a /dev/pts path blocks on read with no timeout (virtual-board-notes.md 5.1)
MPREMOTE_TIMEOUT_S = 60


class VirtualBoard:
    def __init__(self, root, *args):
        self.root = root
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "barenet"), "virtual-board", "--dir", root] + list(args),
            stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.port = self.readline().split()[-1]
        self.nic = self.readline().split()[-1]

    def readline(self):
        line = self.proc.stdout.readline()
        assert line, "virtual-board exited: %s" % self.lines
        self.lines.append(line.rstrip("\n"))
        return line.rstrip("\n")

    def wait_for(self, text):
        while text not in self.readline():
            pass

    def mpremote(self, *args, check=True, connect=True):
        cmd = [os.path.join(BIN, "mpremote")]
        if connect:
            cmd += ["connect", self.port]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True,
                           timeout=MPREMOTE_TIMEOUT_S)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
