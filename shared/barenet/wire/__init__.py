"""Codecs only: what the bytes of each header mean. No state, no timers (DESIGN.md)."""


class Malformed(ValueError):
    """Input that breaks its format: the peer's fault, counted as drop_<reason> and dropped.

    Parsers raise only this for bad input (args[0] is the short reason), so an ordinary
    ValueError or any other exception escaping a layer is a bug of ours, never blamed on the
    peer (the stack counts it as drop_internal_error)."""
