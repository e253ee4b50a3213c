"""Chat clients for examples/chat_poll.py, as a test drives them: N clients join (each waits
for the server's "welcome"), then each of the first S (all by default) sends M lines
"<client> <seq>" while all read; done when every client has every other sender's M lines.
Runs on any `socket`/`select` pair (kernel sockets, barenet with fds, barenet in the
MicroPython VM, where `between()` runs the server in the same thread). As a script (inside a
netns, against barenet on a TAP), prints the result:

    python3 chat_clients.py HOST PORT CLIENTS MESSAGES TIMEOUT_S [SENDERS]
"""

import json
import sys
import time

try:
    _ms = time.ticks_ms
    _diff = time.ticks_diff
except AttributeError:    # CPython
    def _ms():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b

_BY_FD = sys.implementation.name != "micropython"


def run(socket, select, host, port, clients, messages, timeout_s, between=None, senders=None,
        joined_all=None):
    """-> {"joined", "lines", "missing", "errors"}; errors lists the first wrong lines.
    joined_all(): called once every client has joined, before the first line is sent."""
    start = _ms()
    left = lambda: timeout_s * 1000 - _diff(_ms(), start)
    poller = select.poll()
    socks = []
    state = {}     # poll key -> [index, partial line, {sender: [seqs]}, joined]
    errors = []
    for i in range(clients):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(max(left(), 1) / 1000)
        try:
            s.connect((host, port))
        except OSError as e:    # refused, reset or timed out: a server out of room
            errors.append("client %d: connect: %r" % (i, e))
            s.close()
            continue
        s.setblocking(False)
        poller.register(s, select.POLLIN)
        state[s.fileno() if _BY_FD else s] = [len(socks), b"", {}, False]
        socks.append(s)
    senders = clients if senders is None else senders
    total = senders * (clients - 1) * messages
    lines = joined = 0
    sent = [0] * clients
    while left() > 0 and (joined < clients or lines < total):
        if between is not None:
            between()
        if joined == clients and joined_all is not None:
            joined_all()
            joined_all = None
        if joined == clients:
            # every client has joined: each sends its next line (small: a send takes it all)
            for i in range(senders):
                s = socks[i]
                if sent[i] < messages:
                    s.send(b"%d %d\n" % (i, sent[i]))
                    sent[i] += 1
        for r in poller.poll(0 if between is not None else 10):
            st = state[r[0]]
            try:
                data = socks[st[0]].recv(65536)
            except OSError:
                continue
            if not data:
                errors.append("client %d: the server closed" % st[0])
                poller.unregister(socks[st[0]])
                continue
            data = st[1] + data
            end = data.rfind(b"\n") + 1
            st[1] = data[end:]
            for line in data[:end].split(b"\n")[:-1]:
                if line == b"welcome":
                    st[3] = True
                    joined += 1
                    continue
                sender, seq = [int(x) for x in line.split()]
                got = st[2].setdefault(sender, [])
                if sender == st[0] or seq != len(got):
                    if len(errors) < 10:
                        errors.append("client %d got %r after %d" % (st[0], line, len(got)))
                got.append(seq)
                lines += 1
    for s in socks:
        s.close()
    return {"joined": joined, "lines": lines, "missing": total - lines,
            "errors": errors}


if __name__ == "__main__":
    import select as _select
    import socket as _socket
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # a thousand clients need fds
    host, port, n, m, t = sys.argv[1:6]
    senders = int(sys.argv[6]) if len(sys.argv) > 6 else None
    print(json.dumps(run(_socket, _select, host, int(port), int(n), int(m), float(t),
                         senders=senders)))
