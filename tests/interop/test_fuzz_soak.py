"""The CI-sized run of bench/fuzz_soak.py: 50 000 fuzzed frames at a running `barenet serve`
(echo, discard, chargen, the status page and UDP echo) on a TAP in a namespace of its own.
Afterwards serve is alive, has counted 0 internal errors, answers the status page's JSON and
echoes over TCP. The full run (1 000 000 frames) and its figures are in BENCHMARKS.md."""

import importlib.util
import os

import pytest

pytestmark = pytest.mark.root

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "fuzz_soak.py")


def _soak():
    spec = importlib.util.spec_from_file_location("fuzz_soak", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_serve_survives_50000_fuzzed_frames():
    r = _soak().run(frames=50000, max_seconds=60, seed=8)
    assert r["sent"] == 50000, r
    assert r["alive"], r["serve_stderr"]
    assert r["internal_errors"] == 0, r
    assert r["echo"], r
    # the frames reached barenet, not only the TAP's queue
    assert r["barenet_rx"] >= 25000, r
