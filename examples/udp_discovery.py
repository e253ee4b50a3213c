"""UDP broadcast discovery: devices answer a broadcast query with their name; a client
broadcasts the query and collects the answers (name and IP address) for a while.

    python3 udp_discovery.py answer --name NAME [--port 30303] [--bind ADDR] [--count N]
                                    [--idle SECONDS]
    python3 udp_discovery.py find [--port 30303] [--to 255.255.255.255] [--bind ADDR]
                                  [--wait SECONDS] [--max N] [--tries N]

A query is `DISCOVER barenet-example`; the answer, sent back to the querier, is
`HERE barenet-example NAME`. The device's address is the answer's source address, which the
client reads from recvfrom(): no device has to know which of its addresses the query reached.
Sending to a broadcast address needs SO_BROADCAST (Linux: EACCES without it). `find` sends the
query --tries times, each time waiting until --wait seconds pass without a new answer, and stops
early at --max answers; `answer` exits after N queries (0: for ever) or --idle seconds without
one (0: no limit).
"""

import socket

from exargs import parse, usage_error

QUERY = b"DISCOVER barenet-example"
ANSWER = b"HERE barenet-example "
PORT = 30303


def answer(name, port=PORT, bind="", count=0, idle=0.0, log=print):
    """Answer queries on port; -> how many were answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind, port))
        if idle:
            s.settimeout(idle)
        log("answering as %s on port %d" % (name, port))
        n = 0
        while count == 0 or n < count:
            try:
                data, src = s.recvfrom(512)
            except OSError as e:   # the idle timeout (TimeoutError; ETIMEDOUT on MicroPython)
                log("idle: %s" % (e,))
                break
            if data.strip() != QUERY:
                continue   # not ours: say nothing, as a device on a shared port must
            s.sendto(ANSWER + name.encode(), src)
            log("answered %s:%d" % src)
            n += 1
        return n
    finally:
        s.close()


def find(port=PORT, to="255.255.255.255", bind="", wait=1.0, most=0, tries=1):
    """Broadcast the query `tries` times (UDP may lose one; a device may not be up yet),
    each followed by `wait` quiet seconds at most; -> [(name, ip)], one per address, in the
    order the answers came."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if bind:
            s.bind((bind, 0))
        s.settimeout(wait)
        found = []
        seen = set()
        for _ in range(tries):
            s.sendto(QUERY, (to, port))
            while most == 0 or len(found) < most:
                try:
                    data, src = s.recvfrom(512)
                except OSError:  # quiet for `wait` seconds: all who answer have answered
                    break
                if data.startswith(ANSWER) and src[0] not in seen:
                    seen.add(src[0])
                    found.append((data[len(ANSWER):].decode(), src[0]))
            if most and len(found) >= most:
                break
        return found
    finally:
        s.close()


def main(argv):
    o, rest = parse(argv, {"name": "", "port": PORT, "bind": "", "count": 0, "idle": 0.0,
                           "to": "255.255.255.255", "wait": 1.0, "max": 0, "tries": 1})
    if rest == ["answer"]:
        if not o["name"]:
            usage_error("answer needs --name NAME")
        answer(o["name"], o["port"], o["bind"], o["count"], o["idle"])
        return 0
    if rest == ["find"]:
        found = find(o["port"], o["to"], o["bind"], o["wait"], o["max"], o["tries"])
        for name, ip in found:
            print("%s %s" % (name, ip))
        print("%d found" % len(found))
        return 0 if found else 1
    usage_error("usage: udp_discovery.py answer|find [options]")


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
