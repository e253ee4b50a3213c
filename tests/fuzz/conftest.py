"""Hypothesis profiles for the whole test run.

HYPOTHESIS_PROFILE=ci (set by .ci/run) selects "ci": no per-example deadline (CI machines are
slow and shared) and the reproduction blob printed on failure. Profiles are global to the run,
so they do not raise max_examples for everybody's @given tests: the fuzz tests take their own,
larger example count from fuzzlib.EXAMPLES, which follows the same variable.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", deadline=None)

_profile = os.environ.get("HYPOTHESIS_PROFILE")
if _profile in ("ci", "dev"):
    settings.load_profile(_profile)
