"""The core is sans-I/O (DESIGN.md, STYLE.md convention 1): no module under shared/barenet may
import a clock, a socket, a device, threads, the OS, randomness or the interpreter, nor open a
file. Time and frames come in as arguments; runners own the I/O.

Checked statically with `ast`, so a module that imports lazily inside a function is caught too.
"""

import ast
import os

import barenet

CORE = os.path.dirname(os.path.abspath(barenet.__file__))
FORBIDDEN = {"socket", "select", "time", "os", "machine", "threading", "_thread", "asyncio",
             "sys", "io", "random"}
# The asyncio adapter is the one place allowed to use asyncio (DESIGN.md: aio.py). The socket
# API's makefile() stacks io's buffered and text layers on a socket, as CPython's does: those
# are memory, not a device (opening files stays forbidden by the call check below). install()
# puts the socket module in sys.modules (issue 9 item 7): a name table, not I/O.
ALLOWED = {"aio.py": {"asyncio"}, "socket.py": {"io", "sys"}}


def core_files():
    out = []
    for d, _, files in os.walk(CORE):
        for f in files:
            if f.endswith(".py"):
                out.append(os.path.join(d, f))
    return sorted(out)


def violations(path):
    rel = os.path.relpath(path, CORE)
    allowed = ALLOWED.get(rel, set())
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("open", "__import__") or \
                    isinstance(f, ast.Attribute) and f.attr == "open" and \
                    isinstance(f.value, ast.Name) and f.value.id in ("io", "os", "builtins"):
                found.append("%s:%d calls %s()" % (rel, node.lineno, ast.unparse(f)))
            continue
        for n in names:
            top = n.split(".")[0]
            if top in FORBIDDEN and top not in allowed:
                found.append("%s:%d imports %s" % (rel, node.lineno, n))
    return found


def test_core_tree_is_found():
    files = [os.path.relpath(p, CORE) for p in core_files()]
    assert "stack.py" in files and os.path.join("wire", "ipv4.py") in files


def test_core_does_no_io():
    found = []
    for p in core_files():
        found.extend(violations(p))
    assert not found, (
        "the core must stay sans-I/O (DESIGN.md 'The core is sans-I/O'): pass time and frames in "
        "as arguments and keep I/O in host/ or firmware/ runners. Offending lines:\n  "
        + "\n  ".join(found))


def test_the_checker_catches_what_it_should(tmp_path):
    # The test above can fail: these snippets must each be reported.
    bad = {
        "import time": "imports time",
        "import os.path": "imports os.path",
        "from socket import socket": "imports socket",
        "def f():\n    import select": "imports select",
        "from _thread import start_new_thread": "imports _thread",
        "import asyncio": "imports asyncio",
        "x = open('f')": "calls open()",
        "import io\nio.open('f')": "imports io",
    }
    for src, want in bad.items():
        p = tmp_path / "mod.py"
        p.write_text(src)
        got = violations(str(p))
        assert any(want in v for v in got), (src, got)
    p = tmp_path / "ok.py"
    p.write_text("import struct\nfrom .compat import const\nfrom . import ticks\n")
    assert violations(str(p)) == []


def test_only_malformed_input_is_blamed_on_the_peer(monkeypatch):
    # Parsers raise wire.Malformed for bad input: that is counted as the layer's drop_<reason>.
    # Any other exception is our bug: counted as drop_internal_error, never as the peer's.
    from barenet.stack import Stack
    from barenet.wire import Malformed, ipv4

    stack = Stack()
    iface = stack.add_interface(type("N", (), {"send": lambda self, f: None})(),
                                mac="02:00:00:00:00:02", ip="192.0.2.2/24")
    frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02" * 6 + b"\x08\x00" + bytes(40)
    assert issubclass(Malformed, ValueError)
    stack.input(iface, frame, 0)
    assert stack.stats["ip"] == {"drop_version": 1}

    def buggy(data, h, verify=True):
        raise ValueError("a bug of ours")
    monkeypatch.setattr(ipv4, "parse_into", buggy)     # what IP.input parses with
    stack.input(iface, frame, 0)
    assert stack.stats["ip"] == {"drop_version": 1}
    assert stack.stats["stack"] == {"drop_internal_error": 1}
    assert str(stack.last_error) == "a bug of ours"
