"""Per-layer counters: plain dicts of name -> int, named like lwIP's (rx, tx, drop_<reason>)."""


def inc(d, key, n=1):
    d[key] = d.get(key, 0) + n
