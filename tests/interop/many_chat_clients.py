"""Runs inside the netns on CPython's own sockets (vm_many.py): N chat clients
(tests/examples/chat_clients.py) join a chat_poll server; once all have, one more client
tries to connect while they are held; then the N exchange M lines each. Prints one JSON
object, chat_clients.run's result with "extra": the errno name the extra connect failed
with ("timeout" if it got no answer), or "connected".

    python3 many_chat_clients.py HOST PORT CLIENTS MESSAGES TIMEOUT_S
"""

import errno
import json
import os
import select
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import chat_clients  # noqa: E402

EXTRA_TIMEOUT_S = 10    # a refusal is a RST in one round trip; a dropped SYN would be retried


def main():
    host, port, n, m, t = sys.argv[1:6]
    extra = {}

    def one_more():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(EXTRA_TIMEOUT_S)
        try:
            s.connect((host, int(port)))
            extra["result"] = "connected"
        except socket.timeout:
            extra["result"] = "timeout"
        except OSError as e:
            extra["result"] = errno.errorcode.get(e.errno, str(e))
        finally:
            s.close()

    r = chat_clients.run(socket, select, host, int(port), int(n), int(m), float(t),
                         joined_all=one_more)
    r["extra"] = extra.get("result")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
