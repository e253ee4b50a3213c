"""The CPython/MicroPython differences the core depends on, each in one place."""

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

import errno as _errno


def _e(name, linux_value):
    # MicroPython's errno omits several names (ENETUNREACH, EMSGSIZE, ...); use the Linux
    # numbers there so an OSError from barenet reads the same on both runtimes.
    return getattr(_errno, name, linux_value)


EAGAIN = _e("EAGAIN", 11)
EINVAL = _e("EINVAL", 22)
EPIPE = _e("EPIPE", 32)
EMSGSIZE = _e("EMSGSIZE", 90)
EOPNOTSUPP = _e("EOPNOTSUPP", 95)
EADDRINUSE = _e("EADDRINUSE", 98)
EADDRNOTAVAIL = _e("EADDRNOTAVAIL", 99)
ENETUNREACH = _e("ENETUNREACH", 101)
ECONNABORTED = _e("ECONNABORTED", 103)
ECONNRESET = _e("ECONNRESET", 104)
ENOBUFS = _e("ENOBUFS", 105)
EISCONN = _e("EISCONN", 106)
ENOTCONN = _e("ENOTCONN", 107)
ETIMEDOUT = _e("ETIMEDOUT", 110)
ECONNREFUSED = _e("ECONNREFUSED", 111)
EHOSTDOWN = _e("EHOSTDOWN", 112)
EHOSTUNREACH = _e("EHOSTUNREACH", 113)
ENONET = _e("ENONET", 64)
ENETDOWN = _e("ENETDOWN", 100)
EALREADY = _e("EALREADY", 114)
EINPROGRESS = _e("EINPROGRESS", 115)
EPROTO = _e("EPROTO", 71)
ENOPROTOOPT = _e("ENOPROTOOPT", 92)
EPROTONOSUPPORT = _e("EPROTONOSUPPORT", 93)
EDESTADDRREQ = _e("EDESTADDRREQ", 89)
EBADF = _e("EBADF", 9)
EPERM = _e("EPERM", 1)
ENOENT = _e("ENOENT", 2)
EPROTOTYPE = _e("EPROTOTYPE", 91)
EACCES = _e("EACCES", 13)
EAFNOSUPPORT = _e("EAFNOSUPPORT", 97)
EWOULDBLOCK = EAGAIN


if OSError(EINVAL).errno is None:
    # CPython sets .errno (and picks the subclass, e.g. ConnectionRefusedError) only when the
    # exception gets a message too; MicroPython sets it from the number alone.
    def oserror(n):
        """The OSError for errno n, with .errno set, as the runtime's own sockets raise it."""
        return OSError(n, _errno.errorcode.get(n, "error %d" % n))
else:
    def oserror(n):
        """The OSError for errno n, with .errno set, as the runtime's own sockets raise it."""
        return OSError(n)


try:
    timeout = TimeoutError
except NameError:  # MicroPython: a socket timeout is OSError(ETIMEDOUT)
    timeout = OSError


def timeout_error():
    """What a socket call raises when its timeout passes: CPython's TimeoutError("timed
    out") (socket.timeout, errno None), MicroPython's OSError(ETIMEDOUT)."""
    if timeout is OSError:
        return oserror(ETIMEDOUT)
    return timeout("timed out")
