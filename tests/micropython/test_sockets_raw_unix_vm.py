"""SOCK_RAW and AF_UNIX through barenet's socket API in the real MicroPython VM (issue 9 items
2, 3 and 7), and the two examples over barenet there (examples/raw_ping.py, unix_ipc.py)."""

import json
import os

from test_micropython import REPO, run_vm

EXAMPLES = os.path.join(REPO, "examples")


def test_raw_and_unix_sockets_in_the_vm():
    r = json.loads(run_vm("vm_sockets_raw_unix.py", 3000).splitlines()[-1])
    assert r["raw_in"] == [0x45, 253, "vm raw 253", ["192.0.2.2", 0]]
    assert r["raw_back"] == ["and back", ["192.0.2.1", 0]]
    assert r["raw_names"] == [["192.0.2.1", 253], 107]     # ENOTCONN
    assert r["hdrincl"] == [1, 9, "hdr!"]                   # our header's TTL arrived
    # MicroPython's errors: EAGAIN, and a timeout is OSError(ETIMEDOUT)
    assert (r["raw_eagain"], r["raw_timeout"], r["raw_proto0"]) == (11, 110, 93)
    assert r["ping"] == [1, 0, True, "vm ping"]             # an echo reply to our request
    assert r["unix_stream"] == [1500, "''", "/vm/srv", "line\n"]
    assert (r["unix_timeout"], r["unix_eof"], r["unix_noent"]) == (110, True, 2)
    assert r["unix_dgram"] == ["datagram", "/vm/cli", 11]
    assert r["pair"] == "pair"
    assert r["counters_unchanged"] is True
    assert r["polls"] == [4, 5, 4 | 0x10, 1]     # the ioctl masks MicroPython's poll reads


def run_example(*args):
    out = run_vm("vm_rawunix_examples.py", EXAMPLES, *args).splitlines()
    return out[:-1], json.loads(out[-1])["result"]


def test_raw_ping_example_in_the_vm():
    lines, n = run_example("raw_ping", "192.0.2.1", 3)
    assert n == 3
    assert [ln.split(" time=")[0] for ln in lines[1:4]] == [
        "64 bytes from 192.0.2.1: icmp_seq=%d ttl=64" % i for i in range(3)]
    assert lines[-1] == "3 packets transmitted, 3 received"


def test_unix_ipc_example_in_the_vm(tmp_path):
    lines, n = run_example("unix_ipc", str(tmp_path / "ipc"), 4)
    assert n == 8 and lines[-1] == "unix_ipc: 8 of 8 replies"
    assert os.listdir(tmp_path) == []        # barenet's names are no files
