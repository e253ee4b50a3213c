"""Running out of file descriptors on purpose, in a test's own subprocess (never in pytest's):
RLIMIT_NOFILE lowered, then every descriptor left taken, so the next accept() fails with
EMFILE. The caller frees one with os.close(held.pop())."""

import os
import resource


def use_up_descriptors(limit=64):
    """-> the descriptors taken (dups of stdin)."""
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    held = []
    try:
        while True:
            held.append(os.dup(0))
    except OSError:
        pass
    return held
