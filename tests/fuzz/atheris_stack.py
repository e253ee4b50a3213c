"""Coverage-guided fuzzing with atheris (libFuzzer for Python): Stack.input, or one wire parser.

The stack target turns each fuzz input into a short run of events for a fuzzlib.Target (a
stack with a bound UDP port, an echo client, a TCP listener and a datagram waiting for ARP,
its clock just before the ticks wrap): each event is a frame, structured by fuzzlib from the
input's bytes (addressed to the stack, valid checksums over fuzzed fields, then maybe cut or
bit-flipped) or the raw bytes themselves, or time passing. Target.check() fails the run, and
libFuzzer saves the input, when an exception was counted inside input()/poll(), a bound was
exceeded or a sent frame is malformed; an exception out of poll() fails it too. The parser
targets call one entry of parsers.PARSERS on the raw input: anything but Malformed is a crash.
barenet's modules are instrumented for coverage; libFuzzer keeps the inputs that reach new
code, so the corpus grows towards the deep paths the hypothesis tests reach by construction.

    pip install atheris                         # in the dev extra (pyproject.toml)
    python tests/fuzz/atheris_stack.py -runs=100000                 # the stack, in memory
    mkdir -p /tmp/corpus && python tests/fuzz/atheris_stack.py /tmp/corpus -max_total_time=600
    python tests/fuzz/atheris_stack.py --target=tcp -runs=200000    # one parser: ethernet,
                                                                    # arp, ipv4, icmp, udp, tcp
    python tests/fuzz/atheris_stack.py crash-<sha1>                 # replay a saved crash

Every other argument is libFuzzer's (-help=1 lists them). test_fuzz_atheris.py runs each
target briefly in CI so the harness cannot rot.
"""

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["barenet"]):
    from barenet.wire import Malformed
    from fuzzlib import Knobs, Target, structured
    from parsers import PARSERS

STEP_MS = (0, 1, 999, 1000, 5000, 30001, 70000)


def stack_input(data):
    k = Knobs(data)
    t = Target()
    t.stack.tcp.listen(7)
    for _ in range(1 + k.byte() % 6):
        kind = k.byte() % 8
        if kind == 0:
            t.advance(STEP_MS[k.byte() % len(STEP_MS)])
        elif kind == 1:
            t.feed(bytes(k.byte() for _ in range(k.byte())))
        else:
            t.feed(structured(Knobs(k.d[k.i:], k.d[:k.i])))
            k.i += 40
    t.advance(70000)


def parser_input(parser):
    def run(data):
        try:
            parser.parse(memoryview(data))
        except Malformed:
            pass
    return run


def main(argv):
    target = "stack"
    rest = []
    for a in argv:
        if a.startswith("--target="):
            target = a.split("=", 1)[1]
        else:
            rest.append(a)
    fns = dict((p.name, parser_input(p)) for p in PARSERS)
    fns["stack"] = stack_input
    if target not in fns:
        raise SystemExit("unknown target %r (choose from %s)" % (target, ", ".join(sorted(fns))))
    atheris.Setup(rest, fns[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
