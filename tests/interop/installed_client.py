"""Run by test_installed.py inside the test's netns: barenet on a TAP made there (Runner +
RunnerDriver), made this process's socket module with install() before the unmodified library
is imported, then the library used as its documentation says. In a subprocess, so the patched
socket module never leaks into pytest. argv: TAP name, mode, mode's arguments. Prints JSON.

A process inside the netns reaches 192.0.2.1 from 192.0.2.2 only through barenet: the kernel's
own sockets there would come from 192.0.2.1 itself, which the kernel servers' logs tell apart.
"""

import hashlib
import json
import sys

import barenet.socket
from barenet.stack import Stack
from barenet_host.devices.tap import TapDevice
from barenet_host.runner import Runner, RunnerDriver, now_ms

MAC = b"\x02\x00\xc0\x00\x02\x02"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def urllib_get(urls):
    import urllib.error
    import urllib.request
    out = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                body = r.read()
                out.append([r.status, r.headers["Content-Length"], len(body), sha(body)])
        except urllib.error.HTTPError as e:
            out.append([e.code, e.reason])
    return {"get": out, "patched": urllib.request.socket is barenet.socket}


def main():
    tap = TapDevice(sys.argv[1], create=False)
    stack = Stack("host")
    stack.add_interface(tap, mac=MAC, ip="192.0.2.2/24", now_ms=now_ms())
    runner = Runner(stack)
    barenet.socket.install(stack, RunnerDriver(runner))
    barenet.socket.setdefaulttimeout(20)   # every blocking call the library makes is bounded
    mode, args = sys.argv[2], sys.argv[3:]
    out = {"urllib": urllib_get}[mode](args)
    out["tap"] = tap.stats
    out["internal"] = stack.stats["stack"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
