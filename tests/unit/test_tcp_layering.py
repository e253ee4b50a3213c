"""The modules of barenet.tcp are layered (DESIGN.md: the TCB split along RFC 9293's seams): the
import graph has no cycle, no module imports one from a layer above its own, and nothing below
tcb.py calls up through the TCB object (a user call, or the listener), which imports would not
show.

Read with `ast`, nothing imported, so an import inside a function counts too. A module added to
the package must be given a layer here.
"""

import ast
import os

import barenet

TCP = os.path.join(os.path.dirname(os.path.abspath(barenet.__file__)), "tcp")

# Lower first. Modules in one layer may import each other, as long as there is no cycle.
LAYERS = (
    ("seq", "ring", "rtt", "send", "recv", "sack", "rack", "congestion", "cubic", "prr",
     "algorithms", "syncookie", "timestamps", "undo"),
    ("state",),
    ("options", "urgent", "ecn"),
    ("output",),
    ("recovery",),
    ("timers", "input"),
    ("tcb", "timewait"),          # timewait: the records TCBs become in TIME_WAIT
    ("__init__",),
)
LEVEL = dict((m, i) for i, layer in enumerate(LAYERS) for m in layer)


def modules():
    return sorted(f[:-3] for f in os.listdir(TCP) if f.endswith(".py"))


def parse(name):
    with open(os.path.join(TCP, name + ".py")) as f:
        return ast.parse(f.read(), name + ".py")


def imports(tree, known):
    """The barenet.tcp modules a module's tree imports (`__init__` for names the package
    itself defines)."""
    out = set()

    def target(dotted, names):
        # dotted: the module path inside barenet.tcp ("" for the package itself)
        if dotted:
            out.add(dotted.split(".")[0])
        else:
            for n in names:
                out.add(n if n in known else "__init__")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            mod = node.module or ""
            if node.level == 1:
                target(mod, names)
            elif node.level == 2 and (mod == "tcp" or mod.startswith("tcp.")):
                target(mod[4:], names)
            elif node.level == 0 and (mod == "barenet.tcp" or mod.startswith("barenet.tcp.")):
                target(mod[12:], names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("barenet.tcp."):
                    target(a.name[12:], [])
    return out


def graph():
    known = set(modules())
    return dict((m, imports(parse(m), known) - {m}) for m in known)


def upward(g):
    """(importer, imported) pairs where the imported module sits in a higher layer."""
    return sorted((a, b) for a in g for b in g[a] if LEVEL[b] > LEVEL[a])


def cycle(g):
    """One import cycle as a list of modules, or None."""
    state = {}
    path = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def tcb_methods():
    cls = [n for n in parse("tcb").body if isinstance(n, ast.ClassDef) and
           n.name == "TCPConnection"]
    assert len(cls) == 1, "tcb.py defines TCPConnection"
    return set(n.name for n in cls[0].body if isinstance(n, ast.FunctionDef))


def calls_up(tree, methods):
    """Calls from a module below tcb.py that go back up through the TCB: one of
    TCPConnection's methods (`tcb.abort()`), or anything on its listener."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        f = node.func
        if isinstance(f.value, ast.Name) and f.value.id == "tcb" and f.attr in methods:
            out.append("tcb.%s()" % f.attr)
        elif isinstance(f.value, ast.Attribute) and f.value.attr == "listener":
            out.append("listener.%s()" % f.attr)
    return out


def test_every_tcp_module_has_a_layer():
    mods = set(modules())
    assert "tcb" in mods and "input" in mods and "seq" in mods
    assert sorted(mods - set(LEVEL)) == [], "place new modules in LAYERS"
    assert sorted(set(LEVEL) - mods) == [], "LAYERS names modules that do not exist"


def test_tcp_imports_follow_the_layers():
    assert upward(graph()) == []


def test_tcp_import_graph_is_acyclic():
    assert cycle(graph()) is None


def test_nothing_below_tcb_calls_up_through_the_tcb():
    methods = tcb_methods()
    assert {"send", "recv", "close", "abort", "segment", "poll"} <= methods
    below = [m for m in modules() if LEVEL.get(m, 0) < LEVEL["tcb"]]
    found = dict((m, calls_up(parse(m), methods)) for m in below)
    assert dict((m, c) for m, c in found.items() if c) == {}


def test_the_checks_fail_on_bad_code():
    # Each check reports what it exists to catch; otherwise the tests above prove nothing.
    known = set(modules())
    bad = ast.parse("from .tcb import TCPConnection\nfrom . import seq, TCP\n"
                    "def f():\n    from barenet.tcp.recovery import on_pto\n")
    assert imports(bad, known) == {"tcb", "seq", "__init__", "recovery"}
    g = graph()
    g["output"] = g["output"] | {"recovery"}
    assert upward(g) == [("output", "recovery")]
    assert cycle(g) in (["output", "recovery", "output"], ["recovery", "output", "recovery"])
    up = ast.parse("def f(tcb, now):\n    tcb.abort()\n    tcb.listener.child_ready(tcb)\n"
                   "    tcb.rcvbuf.read(1)\n")
    assert calls_up(up, tcb_methods()) == ["tcb.abort()", "listener.child_ready()"]
