# Runs on both runtimes: a seeded FaultModel's decisions, summarised as JSON. The same seed must
# give the same faults in the VM as on CPython, so a failure seen on a board replays on a host.
import json

from barenet import ticks
from barenet_host.faults import FaultModel, parse_spec, spread_seed


def run():
    m = FaultModel(seed=7, loss=0.1, duplicate=0.05, corrupt=0.05, reorder=0.1, jitter_ms=3,
                   bandwidth_bps=1000000, queue_limit=2000)
    deliveries = 0
    last = None
    checksum = 0
    for i in range(10000):
        for at, frame in m.apply(bytes(100), ticks.add(ticks.PERIOD - 500, i // 10)):
            deliveries += 1
            last = at
            checksum = (checksum * 31 + at + sum(frame)) & 0xFFFFFFFF
    return {"stats": m.stats, "deliveries": deliveries, "last": last, "checksum": checksum,
            "prng": [FaultModel(seed=1)._next() for _ in range(1)],
            # --faults is parsed by the same code on a board
            "spec": sorted(parse_spec("loss=0.05,dup=0.01,reorder=0.02,corrupt=0.01,"
                                      "delay=1.5s,rate=2.5kbit,seed=7").items()),
            "spread": [spread_seed(s, d) for s in (0, 1, 0xFFFFFFFF) for d in (0, 1)]}


if __name__ == "__main__":
    print(json.dumps(run()))
