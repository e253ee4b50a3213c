"""Raw IP endpoints (barenet/raw.py) in the real MicroPython VM: vm_raw_exchange.py runs two
stacks on the virtual wire there, and what they received is decoded here by scapy."""

import json
import os
import sys

from scapy.layers.inet import ICMP, IP

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_micropython import run_vm  # noqa: E402


def datagrams(rows):
    return [(IP(bytes.fromhex(d)), src, port) for d, src, port in rows]


def test_raw_ping_253_fragments_hdrincl_and_a_full_queue_in_the_vm():
    r = json.loads(run_vm("vm_raw_exchange.py"))
    assert r["internal"] == [{}, {}]
    (reply, src, port), = datagrams(r["ping"])
    assert (src, port, reply.src, reply.proto) == ("192.0.2.2", 0, "192.0.2.2", 1)
    assert (reply[ICMP].type, reply[ICMP].id, reply[ICMP].seq) == (0, 0x6262, 1)
    assert bytes(reply[ICMP].payload) == b"vm ping"
    (small, _, _), (big, _, _) = datagrams(r["b"])
    assert (small.proto, bytes(small.payload)) == (253, b"a to b")
    assert (big.len, big.flags, bytes(big.payload)) == (3020, 0, bytes(i & 0xFF for i in range(3000)))
    (plain, _, _), (own, src, _) = datagrams(r["a"])
    assert (plain.ttl, bytes(plain.payload)) == (64, b"b to a")
    assert (own.ttl, own.src, bytes(own.payload), src) == (5, "192.0.2.2", b"own header", "192.0.2.2")
    fresh = own.copy()
    del fresh.chksum  # scapy computes its own checksum of the header the stack completed
    assert own.id != 0 and IP(bytes(fresh)).chksum == own.chksum
    assert [bytes(d.payload) for d, _, _ in datagrams(r["flood"])] == [b"flood 0", b"flood 1"]
    assert r["stats_b"]["drop_queue_full"] == 2
    assert r["stats_b"]["tx_hdrincl"] == 1 and r["stats_a"]["tx"] == 7
    assert r["ip_b"]["reasm_ok"] == 1
    assert r["limits"] == {"limit": 4, "used": 1}
