"""Command-line options for the examples without argparse (MicroPython has none).

    opts, rest = parse(argv, {"port": 8080, "host": "", "verbose": False})

`--name VALUE` sets an option of the defaults' type (an int, a float or a str); `--name` alone
turns on a False default. Anything else is positional, in order. A mistake raises
SystemExit(2) after one line on stderr, as argparse does.
"""

import sys


def usage_error(msg):
    sys.stderr.write("error: %s\n" % msg)
    raise SystemExit(2)


def parse(argv, defaults):
    opts = dict(defaults)
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if not a.startswith("--") or a == "--":
            rest.append(a)
            continue
        name = a[2:].replace("-", "_")
        if name not in opts:
            usage_error("unknown option %s" % a)
        d = defaults[name]
        if d is False:
            opts[name] = True
            continue
        if i >= len(argv):
            usage_error("%s needs a value" % a)
        v = argv[i]
        i += 1
        try:
            opts[name] = type(d)(v)
        except ValueError:
            usage_error("%s: not a valid %s: %r" % (a, type(d).__name__, v))
    return opts, rest
