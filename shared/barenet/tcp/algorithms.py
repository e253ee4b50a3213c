"""Choosing a connection's congestion control by Linux's name: TCP_CONGESTION (socket.py) and
cfg.congestion. Loaded only where a name other than Reno's is configured or the option is used,
so a board on its default never holds this code (BENCHMARKS "Memory on boards").
"""

from ..compat import oserror, EINVAL, ENOENT

# TCP_CONGESTION's names, as Linux's (tcp_congestion_control): Linux calls its NewReno "reno"
ALGORITHMS = ("reno", "cubic")
_CA_NAME_MAX = 16  # Linux TCP_CA_NAME_MAX: the option's field, NUL-padded


def check(name):
    """A profile's or an override's name, refused when the stack is made rather than at the
    first handshake, where input must never raise; its module imported now for the same
    reason (an import in input or poll can fail: no descriptor or no heap left)."""
    if name not in ALGORITHMS:
        raise ValueError("unknown congestion %r" % (name,))
    if name == "cubic":
        from . import cubic  # noqa: F401


def select(cc, name, rto):
    """Plug the algorithm named into cc (congestion.NewReno); ENOENT for an unknown name, as
    Linux. A switch keeps cwnd and ssthresh and starts the new algorithm's own state afresh,
    as Linux's tcp_reinit_congestion_control; the same name again changes nothing."""
    if name == name_of(cc):
        return
    if name == "reno":
        cc.alg = None
    elif name == "cubic":
        from .cubic import Cubic
        cc.alg = Cubic(rto)
    else:
        raise oserror(ENOENT)


def name_of(cc):
    return "reno" if cc.alg is None else cc.alg.name


def set_congestion(conn, name):
    """TCP_CONGESTION on a connection: used when it is established, at once if it is."""
    if name != conn.congestion:
        conn.congestion = name          # (the class default stays shared until then)
    if conn.cc is not None:
        select(conn.cc, name, conn.rto)


def parse(value):
    """The option's value: the name up to its first NUL (Linux strncpy_from_sockptr); an
    unknown one is ENOENT (tcp_set_congestion_control), an int included; empty EINVAL."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not len(value):
            raise oserror(EINVAL)       # Linux: optlen < 1
        value = bytes(value[:_CA_NAME_MAX - 1]).split(b"\0")[0].decode()
    if isinstance(value, str) and value in ALGORITHMS:
        return value
    raise oserror(ENOENT)


def field(conn, chosen, default, buflen):
    """getsockopt's answer: the algorithm in use (or that will be once established), as
    Linux copies min(optlen, TCP_CA_NAME_MAX) bytes of the padded name; an int-sized read is
    its first 4 bytes."""
    import struct
    if conn is not None and conn.cc is not None:
        name = name_of(conn.cc)
    else:
        name = chosen or default        # (an unestablished connection has the same)
    raw = name.encode()
    raw += bytes(_CA_NAME_MAX - len(raw))
    if not buflen:
        return struct.unpack("i", raw[:4])[0]
    return raw[:buflen if buflen < _CA_NAME_MAX else _CA_NAME_MAX]
