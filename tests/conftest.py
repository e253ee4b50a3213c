"""Shared pytest setup: root-only tests skip without root, unless CI demands them.

NETWORK-RULES.md: `.ci/run` sets BARENET_REQUIRE_ROOT=1, and then a skip for lack of root (or of
a tool the root tests need) is a failure, so CI cannot pass by skipping the interop layer.
"""

import os
import shutil

import pytest

ROOT_TOOLS = ("ip", "ping")


def root_required():
    return os.environ.get("BARENET_REQUIRE_ROOT") == "1"


def skip_or_fail(reason):
    """Skip the current test, or fail it when BARENET_REQUIRE_ROOT=1."""
    if root_required():
        pytest.fail("%s (BARENET_REQUIRE_ROOT=1 forbids skipping)" % reason, pytrace=False)
    pytest.skip(reason)


def _check_root():
    if os.geteuid() != 0:
        skip_or_fail("needs root (TAP devices, network namespaces)")
    missing = [t for t in ROOT_TOOLS if shutil.which(t) is None]
    if missing:
        skip_or_fail("needs %s (`make sysdeps` installs them)" % ", ".join(missing))


@pytest.fixture
def require_root():
    """Use in a root-only test (or mark it `@pytest.mark.root`)."""
    _check_root()


def pytest_runtest_setup(item):
    if item.get_closest_marker("root") is not None:
        _check_root()


def pytest_collection_modifyitems(config, items):
    # Tests against the kernel share one xdist worker (`make test` runs `--dist loadgroup`):
    # the Linux-timed TCP scripts allow the kernel tens of ms, and a flood or a thousand-client
    # test on the other worker, on a 2-core machine, made them fail for lateness that was the
    # machine's, not the stack's. Unit tests keep the other worker busy meanwhile.
    for item in items:
        if item.get_closest_marker("root") is not None:
            item.add_marker(pytest.mark.xdist_group("kernel"))
