"""The README's "Drivers" example runs as written and prints what the README says."""

import contextlib
import io
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def test_drivers_example_prints_what_the_readme_shows():
    text = open(README).read()
    section = text[text.index("## Drivers"):text.index("## What is implemented")]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[1:3]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue() == shown
