"""The README's socket example runs as written (the code block under "Using the socket API")."""

import os

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def readme_example():
    text = open(README).read()
    section = text[text.index("## Using the socket API"):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```\n", start)]


def test_the_readme_socket_example_runs():
    code = readme_example()
    assert "create_connection" in code
    env = {}
    exec(compile(code, "README.md", "exec"), env)
    assert env["peer"][0] == "192.0.2.2"
    assert env["sim"].ms >= 500          # the timeout passed on the virtual clock
