"""A multi-client chat server with select.poll: each line a client sends goes to every other
client, in order. A plain program over `socket` and `select`; it runs unchanged on kernel
sockets, on barenet with the stack in its own thread (CPython: barenet_host.threaded, whose
sockets have fds), and on barenet in one MicroPython thread (its poll asks the sockets' ioctl,
which moves the stack). barenet.socket.install(stack, driver) before the import makes
`socket` barenet's.

    python3 examples/chat_poll.py [port]      # then: nc 127.0.0.1 7000, in two terminals

A client learns it has joined from the server's first line, "welcome\\n". Nothing ever blocks:
the sockets are non-blocking, what a client cannot take yet waits in its queue (POLLOUT), and
a client whose queue passes MAX_QUEUE is dropped (a slow reader must not hold the others up).
"""

import errno
import select
import socket
import sys

MAX_QUEUE = 1 << 20     # bytes queued for one client
WELCOME = b"welcome\n"
# CPython's poll() reports fds, MicroPython's the objects registered
_BY_FD = sys.implementation.name != "micropython"


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.partial = b""           # the start of a line not yet ended
        self.queue = bytearray()     # lines for it, not yet sent


class ChatServer:
    def __init__(self, port, host="", backlog=128):
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((host, port))
        lst.listen(backlog)
        lst.setblocking(False)
        self.listener = lst
        self.poller = select.poll()
        self.poller.register(lst, select.POLLIN)
        self.clients = {}            # poll key -> Client

    def _key(self, sock):
        return sock.fileno() if _BY_FD else sock

    def poll(self, timeout_ms=-1):
        """Serve what is ready, waiting at most timeout_ms (-1: until something is)."""
        for r in self.poller.poll(timeout_ms):
            key, ev = r[0], r[1]     # MicroPython may add fields
            if key == self._key(self.listener):
                self._accept()
                continue
            c = self.clients.get(key)
            if c is None:
                continue
            if ev & select.POLLIN or ev & (select.POLLHUP | select.POLLERR):
                self._read(key, c)
            if ev & select.POLLOUT and key in self.clients:
                self._flush(key, c)

    def _accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError as e:
            if e.errno == errno.EAGAIN:
                return
            raise
        sock.setblocking(False)
        c = Client(sock)
        key = self._key(sock)
        self.clients[key] = c
        self.poller.register(sock, select.POLLIN)
        c.queue += WELCOME
        self._flush(key, c)

    def _read(self, key, c):
        try:
            data = c.sock.recv(4096)
        except OSError as e:
            if e.errno == errno.EAGAIN:
                return
            data = b""               # reset: the client is gone
        if not data:
            self._drop(key, c)
            return
        data = c.partial + data
        end = data.rfind(b"\n") + 1
        c.partial = data[end:]
        if end:
            lines = data[:end]
            for k, other in list(self.clients.items()):
                if other is not c:
                    other.queue += lines
                    self._flush(k, other)

    def _flush(self, key, c):
        while c.queue:
            try:
                n = c.sock.send(c.queue)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    self._drop(key, c)
                    return
                break
            c.queue = c.queue[n:]
        if len(c.queue) > MAX_QUEUE:
            self._drop(key, c)
            return
        self.poller.modify(c.sock, select.POLLIN | (select.POLLOUT if c.queue else 0))

    def _drop(self, key, c):
        if self.clients.pop(key, None) is not None:
            self.poller.unregister(c.sock)
            c.sock.close()

    def close(self):
        for key, c in list(self.clients.items()):
            self._drop(key, c)
        self.poller.unregister(self.listener)
        self.listener.close()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 7000
    server = ChatServer(port)
    print("chat on port %d" % port)
    while True:
        server.poll()


if __name__ == "__main__":
    main()
