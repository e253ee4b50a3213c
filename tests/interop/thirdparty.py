"""Unmodified third-party code for the tests, and the kernel servers it talks to in a netns.

Libraries are fetched from the package index at test time, pinned, with the team's
`shared/tools/fetch-sdist` (next to the repo, or next to the folder of clones): never copied
into the repo. The servers run inside the test's namespace on 192.0.2.1 and are stopped by pid.
"""

import os
import subprocess
import sys

import pytest

from conftest import KERNEL_IP, STOP_TIMEOUT_S, readline

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UMQTT = "micropython-umqtt.simple==1.3.4"
UREQUESTS = "micropython-urequests==0.6"
MQTT_PORT = 1883
HTTP_PORT = 8000


def fetch_tool():
    d = REPO
    for _ in range(3):
        d = os.path.dirname(d)
        tool = os.path.join(d, "shared", "tools", "fetch-sdist")
        if os.path.exists(tool):
            return tool
    pytest.fail("no shared/tools/fetch-sdist next to the repo (or its parent folder)",
                pytrace=False)


def fetch(spec, dest):
    """Unpack the sdist NAME==VERSION into dest; -> the path of its top folder."""
    os.makedirs(dest, exist_ok=True)
    p = subprocess.run([sys.executable, fetch_tool(), spec, dest], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, "fetch-sdist %s: %s" % (spec, p.stderr)
    return p.stdout.strip().splitlines()[-1]


class Server:
    """A process inside the namespace, started once it printed a line containing `ready`."""

    def __init__(self, ns, cmd, ready, stream="stdout", timeout_s=15):
        self.proc = ns.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pipe = getattr(self.proc, stream)
        seen = []
        for _ in range(20):
            line = readline(pipe, timeout_s)
            seen.append(line)
            if not line or ready in line:
                break
        if ready not in seen[-1]:
            self.stop()
            pytest.fail("%s did not start: %r" % (cmd[0], seen), pytrace=False)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate(timeout=STOP_TIMEOUT_S)


def mosquitto(ns, tmp_path):
    """Debian's mosquitto bound to the namespace's address only, nothing kept on disk."""
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener %d %s\nallow_anonymous true\npersistence false\n"
                    "log_dest stderr\nlog_type all\n" % (MQTT_PORT, KERNEL_IP))
    return Server(ns, ["mosquitto", "-c", str(conf)], "running", stream="stderr")


def http_server(ns, root):
    """CPython's http.server serving root on the namespace's address."""
    return Server(ns, [sys.executable, "-u", "-m", "http.server", str(HTTP_PORT), "--bind",
                       KERNEL_IP, "--directory", str(root)], "Serving HTTP")
