"""The status page's live cwnd/RTT chart in a real browser: headless Chromium (Debian's
`chromium`) inside the test's namespace loads `barenet serve`'s page while the kernel reads
from its chargen. The DOM after the page's script ran must show a chart of samples for that
connection, and the screenshot must have the chart's lines drawn inside the chart's box."""

import re
import shutil

import pytest

import pngcheck
from barenet_host import plot

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

WINDOW = (900, 1000)
CHROMIUM_TIMEOUT_S = 90
# The kernel reads barenet's chargen slowly, so the connection stays open (at most 60 s).
SLOW_READER = """
import socket, time
s = socket.create_connection(("192.0.2.2", 19), timeout=10)
end = time.monotonic() + 60
while time.monotonic() < end and s.recv(2000):
    time.sleep(0.005)
"""
# Until the page's ring for the chargen connection holds a few samples.
WAIT_SAMPLES = """
import json, sys, time, urllib.request
end = time.monotonic() + 20
while time.monotonic() < end:
    doc = json.load(urllib.request.urlopen("http://192.0.2.2/?format=samples", timeout=5))
    if [c for c in doc["connections"] if ":19 -> " in c["name"] and len(c["samples"]) >= 4]:
        sys.exit(0)
    time.sleep(0.2)
sys.exit("no samples: %r" % doc)
"""


def chromium(ns, tmp_path, *args):
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("needs Debian's chromium (`make sysdeps` installs it)", pytrace=False)
    # As root Chromium needs --no-sandbox; its profile stays in the test's tmp_path.
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
           "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=%d,%d" % WINDOW,
           "--virtual-time-budget=4000"] + list(args) + ["http://192.0.2.2/"]
    r = ns.run(cmd, timeout=CHROMIUM_TIMEOUT_S)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_the_chart_draws_live_samples_in_chromium(serve, kernel, tmp_path):
    serve("--apps", "http,chargen")
    reader = kernel.popen_py(SLOW_READER)
    try:
        r = kernel.py(WAIT_SAMPLES, timeout=30)
        assert r.returncode == 0, r.stderr
        dom = chromium(kernel.ns, tmp_path, "--dump-dom")
        shot = tmp_path / "page.png"
        chromium(kernel.ns, tmp_path, "--screenshot=%s" % shot)
    finally:
        reader.kill()
        reader.communicate(timeout=10)
    updates = re.search(r'id="charts" data-updates="(\d+)"', dom)
    assert updates and int(updates.group(1)) >= 1, dom[:2000]
    canvases = re.findall(r'<canvas [^>]*data-conn="([^"]+)"[^>]*data-points="(\d+)"'
                          r'[^>]*data-box="(\d+),(\d+),(\d+),(\d+)"', dom)
    (chart,) = [c for c in canvases if ":19 -&gt; " in c[0] or ":19 -> " in c[0]]
    x, y, w, h = (int(v) for v in chart[2:])
    assert int(chart[1]) >= 4 and w >= 600 and h >= 200, chart
    img = pngcheck.load(str(shot))
    assert img.shape[:2] == (WINDOW[1], WINDOW[0])
    assert x + w <= WINDOW[0] and y + h <= WINDOW[1], "the chart is outside the screenshot"
    box = (x, y, w, h)
    # The chart's own colours, inside its box: cwnd's line and the RTO's.
    assert pngcheck.near(img, plot.COLOURS["cwnd"], box=box) >= 200
    assert pngcheck.near(img, plot.COLOURS["rto_ms"], box=box) >= 100
    assert pngcheck.ink(img, box=box) >= 0.01 * w * h
