"""Two tasks of one program talking over AF_UNIX: a request/reply exchange over a stream
socket, then over datagram sockets. Plain `socket` code: it runs on CPython's own AF_UNIX
sockets and, unchanged, on barenet after `barenet.socket.install(stack, driver)` (on CPython or
MicroPython), where the names live in the stack's own namespace instead of the file system.

    python3 unix_ipc.py [PATH [COUNT]]             # PATH: a name prefix, /tmp/unix_ipc

One thread serves everywhere (barenet is single-threaded): each task is a generator over
non-blocking sockets that yields whenever a call would block, and a small round-robin loop
runs them until both are done (bounded). main(argv) imports `socket` when called; it returns
the number of replies the client checked.
"""

import errno
import os
import sys


def _unlink(path):
    # CPython's AF_UNIX names are files left behind by bind(); barenet's are not files
    try:
        os.remove(path)
    except OSError:
        pass


# A call that cannot complete yet: it would block (EAGAIN: BlockingIOError on CPython), or the
# other task has not bound its name yet (ENOENT) or not listened yet (ECONNREFUSED)
_NOT_YET = (errno.EAGAIN, errno.ENOENT, errno.ECONNREFUSED)


def _until(fn, *args):
    """Generator: call fn(*args) until it completes, yielding to the other task between
    tries; its value (`yield from`) is fn's result."""
    while True:
        try:
            return fn(*args)
        except OSError as e:
            if e.errno not in _NOT_YET:
                raise
        yield


def stream_server(socket, path, count, log):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.setblocking(False)
    srv.bind(path)
    srv.listen(1)
    try:
        conn = (yield from _until(srv.accept))[0]
        conn.setblocking(False)
        buf = b""
        served = 0
        while served < count:
            d = yield from _until(conn.recv, 256)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                reply = b"ack " + line + b"\n"
                while reply:             # all of it, yielding while the peer is full
                    n = yield from _until(conn.send, reply)
                    reply = reply[n:]
                served += 1
        log("stream server: served %d" % served)
        conn.close()
    finally:
        srv.close()


def stream_client(socket, path, count, result, log):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        yield from _until(c.connect, path)
        buf = b""
        for i in range(count):
            msg = b"message %d\n" % i
            while msg:
                msg = msg[(yield from _until(c.send, msg)):]
            while b"\n" not in buf:
                d = yield from _until(c.recv, 256)
                if not d:
                    raise OSError("the server left")
                buf += d
            line, buf = buf.split(b"\n", 1)
            if line != b"ack message %d" % i:
                raise OSError("bad reply %r" % line)
            result[0] += 1
        log("stream client: %d replies" % count)
    finally:
        c.close()


def dgram_server(socket, path, count, log):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(path)
    try:
        for _ in range(count):
            data, sender = yield from _until(s.recvfrom, 256)
            yield from _until(s.sendto, data.upper(), sender)
        log("dgram server: answered %d" % count)
    finally:
        s.close()


def dgram_client(socket, path, me, count, result, log):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(me)                            # a name, so that the server can reply
    try:
        for i in range(count):
            msg = b"datagram %d" % i
            yield from _until(s.sendto, msg, path)
            d = yield from _until(s.recv, 256)
            if d != msg.upper():
                raise OSError("bad reply %r" % d)
            result[0] += 1
        log("dgram client: %d replies" % count)
    finally:
        s.close()


def run(tasks, max_rounds=100000):
    """Round-robin the generator tasks until all are done; False if the bound ran out."""
    tasks = list(tasks)
    for _ in range(max_rounds):
        if not tasks:
            return True
        for t in list(tasks):
            try:
                next(t)
            except StopIteration:
                tasks.remove(t)
    return not tasks


def main(argv, log=print):
    import socket
    path = argv[0] if argv else "/tmp/unix_ipc"
    count = int(argv[1]) if len(argv) > 1 else 5
    names = (path + ".stream", path + ".dgram", path + ".client")
    for n in names:
        _unlink(n)
    got = [0]
    try:
        ok = run([stream_server(socket, names[0], count, log),
                  stream_client(socket, names[0], count, got, log)])
        ok = ok and run([dgram_server(socket, names[1], count, log),
                         dgram_client(socket, names[1], names[2], count, got, log)])
    finally:
        for n in names:
            _unlink(n)
    if not ok:
        log("unix_ipc: the tasks did not finish")
    log("unix_ipc: %d of %d replies" % (got[0], 2 * count))
    return got[0]


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) == 2 * (int(sys.argv[2]) if len(sys.argv) > 2 else 5)
             else 1)
