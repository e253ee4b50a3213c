"""The reference world for scenarios.py: CPython's own sockets (the Linux kernel) on
127.0.0.1, each program in a thread. NETWORK-RULES.md: loopback only. Broadcast is loopback's
own, 127.255.255.255 (Linux routes it to lo as a broadcast); a device receives it by binding to
that address, and its answer still comes from 127.0.0.1."""

import socket
import threading

import scenarios

RUN_TIMEOUT_S = 120


class KernelWorld:
    devices = 1      # one host: every device would answer from the same address
    device_bind = "127.255.255.255"
    finder_bind = "127.0.0.1"
    broadcasts = ("127.255.255.255",)

    def __init__(self):
        self._ports = {}
        self._programs = []

    def ip(self, host):
        return "127.0.0.1"

    def port(self, name):
        """A port free now on 127.0.0.1 (for TCP and UDP alike), the same for each name."""
        if name not in self._ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                self._ports[name] = s.getsockname()[1]
        return self._ports[name]

    def load(self, name):
        return scenarios.fresh(name)

    def spawn(self, host, fn):
        self._programs.append(fn)

    def run(self):
        results = [None] * len(self._programs)
        errors = []

        def body(i, fn):
            try:
                results[i] = fn()
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=body, args=(i, fn), daemon=True)
                   for i, fn in enumerate(self._programs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(RUN_TIMEOUT_S)
            if t.is_alive():
                raise RuntimeError("a program still runs after %d s" % RUN_TIMEOUT_S)
        if errors:
            raise errors[0]
        return results
