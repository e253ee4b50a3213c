"""The README's SOCK_RAW and AF_UNIX example runs as written and prints what the README shows
(but the round-trip times)."""

import contextlib
import io
import os
import re
import sys

from barenet import socket as bsock

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("### SOCK_RAW and AF_UNIX"):]
    code = section[section.index("```python\n") + 10:]
    code, rest = code.split("```\n", 1)
    shown = rest[rest.index("```\n") + 4:]
    return code, shown[:shown.index("```\n")]


def test_the_readme_raw_and_unix_example_runs_as_shown():
    code, shown = blocks()
    out = io.StringIO()
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        bsock.uninstall()
        sys.path.pop(0)
    mask = lambda t: re.sub(r"time=[0-9.]+ ms", "time=T ms", t)   # noqa: E731
    assert mask(out.getvalue()) == mask(shown)
