"""The mip manifest of barenet's core, shared/package.json: every file of shared/barenet,
so that `mpremote mip install shared/package.json` (or its URL on GitHub) puts the core in
the board's /lib. Regenerate after adding or removing a core file:

    python -m barenet_host.mip_package

tests/vboard/test_mip.py checks that the file is what this writes, and installs it.
"""

import json
import os

import barenet

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
PATH = os.path.join(SHARED, "package.json")


def manifest():
    urls = []
    for root, dirs, files in os.walk(os.path.join(SHARED, "barenet")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(root, name), SHARED).replace(os.sep, "/")
                urls.append([rel, rel])  # (path under /lib, URL relative to package.json)
    return {"urls": urls, "version": barenet.__version__}


def text():
    return json.dumps(manifest(), indent=1) + "\n"


if __name__ == "__main__":
    with open(PATH, "w") as f:
        f.write(text())
