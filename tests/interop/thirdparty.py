"""Unmodified third-party code for the tests, and the kernel servers it talks to in a netns.

Libraries are fetched from the package index at test time, pinned, as sdists unpacked without
building them (`fetch`): never copied into the repo. The servers run inside the test's
namespace on 192.0.2.1 and are stopped by pid.
"""

import json
import os
import select
import subprocess
import sys
import tarfile
import time
import urllib.request

import pytest

from conftest import KERNEL_IP, STOP_TIMEOUT_S

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UMQTT = "micropython-umqtt.simple==1.3.4"
UREQUESTS = "micropython-urequests==0.6"
MICRODOT = "microdot==2.7.0"
MQTT_PORT = 1883
HTTP_PORT = 8000


def _index_url():
    # pip's own index, where the machine's pip config or environment says (the default PyPI)
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        p = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                           capture_output=True, text=True, timeout=60)
        url = p.stdout.strip() if p.returncode == 0 else ""
    return (url or "https://pypi.org/simple").rstrip("/")


def fetch(spec, dest):
    """Download and unpack the sdist NAME==VERSION into dest, without building it (pip refuses
    to install these old MicroPython packages); -> the path of its top folder. The index's
    JSON simple API (PEP 691) lists the files."""
    name, version = spec.split("==")
    os.makedirs(dest, exist_ok=True)
    norm = name.lower().replace("_", "-").replace(".", "-")
    req = urllib.request.Request("%s/%s/" % (_index_url(), norm),
                                 headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        files = json.load(r)["files"]
    sdists = [f for f in files if f["filename"].endswith((".tar.gz", ".tgz")) and
              "-%s.t" % version in f["filename"]]
    assert sdists, "no sdist of %s on the index" % spec
    path = os.path.join(dest, sdists[0]["filename"])
    with urllib.request.urlopen(sdists[0]["url"], timeout=120) as r, open(path, "wb") as f:
        f.write(r.read())
    with tarfile.open(path) as t:
        t.extractall(dest, filter="data")
        top = t.getnames()[0].split("/")[0]
    return os.path.join(dest, top)


class Server:
    """A process inside the namespace, started once it printed `ready` on stream."""

    def __init__(self, ns, cmd, ready, stream="stdout", timeout_s=15):
        self.proc = ns.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stream = stream
        # Read from the fd itself: a buffered readline would take several lines at once and
        # a select() after it would not see those still in the buffer.
        fd = getattr(self.proc, stream).fileno()
        seen = b""
        end = time.monotonic() + timeout_s
        while ready.encode() not in seen:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
        self.head = seen.decode()
        if ready not in self.head:
            self.stop()
            pytest.fail("%s did not start: %r" % (cmd[0], self.head), pytrace=False)

    def communicate(self, timeout_s=STOP_TIMEOUT_S):
        """-> (stdout, stderr) once it exits, with what the start already read."""
        out, err = self.proc.communicate(timeout=timeout_s)
        if self.stream == "stdout":
            return self.head + out, err
        return out, self.head + err

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.communicate()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.communicate()


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


def publish_retained(ns, topic, path):
    """mosquitto_pub in the namespace: the file's bytes, retained on topic."""
    p = ns.run(["mosquitto_pub", "-h", KERNEL_IP, "-t", topic, "-r", "-f", str(path)],
               timeout=10)
    assert p.returncode == 0, p.stderr


def kernel_subscriber(ns, topic, count):
    """mosquitto_sub in the namespace, exiting after count messages, started once its SUBACK
    is in (-d says so; stdbuf: line by line, as into a terminal). Read it with payloads()."""
    return Server(ns, ["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", KERNEL_IP, "-t", topic,
                       "-C", str(count), "-F", "%x"], "SUBACK")


def payloads(sub, timeout_s=20):
    """The payloads a kernel_subscriber printed, once it exited (-d's lines are words, the
    payloads hex)."""
    out, _ = sub.communicate(timeout_s)
    return [bytes.fromhex(ln) for ln in out.splitlines() if ln and " " not in ln]
