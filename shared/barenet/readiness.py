"""The readiness signal every endpoint gives (TCP connections and listeners, UDP and raw
endpoints, ICMP echo endpoints, and interfaces for their carrier and address), so that the socket layer, asyncio and the apps wake only the waiters
whose endpoint changed instead of polling every endpoint on every pass.

    ep.events      a count of the changes a waiter cares about: something to read (data, end
                   of stream, a datagram, an error, a connection to accept) or room to write
                   (TCP: established, send buffer freed); for an interface, the carrier
                   went or came back, or the address changed
    ep.on_event    None, or fn(ep), called after the input or timer pass that made changes.
                   It runs inside the stack's input()/poll(): it must only take note (mark a
                   waiter runnable, add ep to a set), never call back into the stack.
                   AF_UNIX endpoints (local.py) have no input pass: theirs is called from
                   the other endpoint's user call (send, recv, close...), under the same rule.
"""

from .compat import oserror


class Ready:
    events = 0
    on_event = None

    def _event(self):
        self.events += 1
        if self.on_event is not None:
            self.on_event(self)


class Datagrams(Ready):
    """An endpoint that queues received datagrams, at most queue_len of them, and keeps the
    errno of the last ICMP error for the next recvfrom() (UDP and raw endpoints)."""

    def __init__(self, queue):
        self.queue_len = queue
        self.error = 0
        self._q = []

    def full(self):
        return len(self._q) >= self.queue_len

    def _put(self, item):
        self._q.append(item)
        self._event()

    def recvfrom(self):
        """-> the oldest queued datagram, or None if none is queued; a pending ICMP error is
        raised first, once."""
        if self.error:
            e = self.error
            self.error = 0
            raise oserror(e)
        if self._q:
            return self._q.pop(0)
        return None

    def datagrams(self, most):
        """Up to `most` queued datagrams, oldest first, for a service that answers whoever
        asks (DHCP, DNS): a pending ICMP error is cleared, as it belongs to an earlier
        reply and there is no caller to report it to."""
        self.error = 0
        q = self._q
        n = len(q) if len(q) < most else most
        out = q[:n]
        del q[:n]
        return out

    def peek(self):
        """The oldest queued datagram as recvfrom() would return it, left queued (MSG_PEEK)."""
        return self._q[0] if self._q else None

    def pending(self):
        return len(self._q)
