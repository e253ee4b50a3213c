"""The README's asyncio example runs as written (the code block under "asyncio streams")."""

import os

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def test_the_readme_asyncio_example_runs():
    text = open(README).read()
    section = text[text.index("### asyncio streams: `barenet.aio`"):]
    start = section.index("```python\n") + len("```python\n")
    code = section[start:section.index("```\n", start)]
    assert "open_connection" in code
    exec(compile(code, "README.md", "exec"), {})
