"""The atheris harness (atheris_stack.py) runs briefly for each of its targets, so that it
cannot rot: a few thousand coverage-guided inputs each, exit status 0 (libFuzzer exits non-zero
and saves the input when one crashes the target)."""

import os
import subprocess
import sys

import pytest

from parsers import PARSERS

HARNESS = os.path.join(os.path.dirname(__file__), "atheris_stack.py")
TIMEOUT_S = 240


@pytest.mark.parametrize("target,runs", [("stack", 4000)] + [(p.name, 3000) for p in PARSERS])
def test_harness_runs(target, runs, tmp_path):
    r = subprocess.run([sys.executable, HARNESS, "--target=" + target, "-runs=%d" % runs,
                        "-seed=1", "-artifact_prefix=%s/" % tmp_path],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "Done %d runs" % runs in r.stderr, r.stderr[-2000:]
