"""Soak a running `barenet serve` with fuzzed frames, then check that it still serves.

    sudo .venv/bin/python bench/fuzz_soak.py                    # 1 000 000 frames, <= 600 s
    sudo .venv/bin/python bench/fuzz_soak.py --frames 50000 --json

Root only (NETWORK-RULES.md): a namespace of its own holds the TAP, its kernel side as
192.0.2.1 (02:00:00:00:00:01, the peer of tests/fuzz/fuzzlib.py) and `barenet serve --apps
echo,discard,chargen,http --udp-echo 7` as 192.0.2.2 (02:00:00:00:00:02). A sender inside the
namespace writes the frames to the TAP's kernel side from an AF_PACKET socket: a pool of
fuzzlib's structured frames (addressed to barenet, valid checksums over random fields, some
truncated, bit-flipped or padded), each sent again with one byte changed one time in four.
Paced on the TAP's tx_dropped counter: frames barenet cannot take fast enough are dropped by
the kernel, not queued, so the sender slows down while it sees drops (and reports them).

Bounded in frames and seconds. At the end the sender flushes the kernel's neighbour entry
(fuzzed ARP may have taught barenet a wrong MAC for 192.0.2.1, and the kernel's next ARP
request puts it right, RFC 826), reads the status page's JSON (http://192.0.2.2/?format=json)
and echoes bytes through TCP port 7. Reported: frames sent and their rate, frames dropped at
the TAP, barenet's received-frame count, its internal errors
(stats["stack"]["drop_internal_error"]), barenet's VmRSS before and after, and the echo check.
Exit status 1 if internal errors > 0, the final check fails or serve died.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fuzz"))

BARENET_IP, KERNEL_IP = "192.0.2.2", "192.0.2.1"
BARENET_MAC, KERNEL_MAC = "02:00:00:00:00:02", "02:00:00:00:00:01"
APPS = ["--apps", "echo,discard,chargen,http", "--udp-echo", "7"]
POOL = 20000                # distinct fuzzlib frames; the rest are one-byte variations
BURST = 64                  # frames between looks at the TAP's drop counter
CHECK_TIMEOUT_S = 10


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


# -- the sender, inside the namespace ----------------------------------------------------------

def frame_pool(seed, n):
    from fuzzlib import Knobs, structured
    rnd = random.Random(seed)
    return [structured(Knobs(rnd.randbytes(120), rnd.randbytes(rnd.randrange(65))))
            for _ in range(n)]


def send_frames(dev, frames, count, deadline, seed):
    """Send count frames (pool entries, a quarter with one byte changed) on dev by AF_PACKET;
    -> (sent, seconds, dropped at the TAP)."""
    rnd = random.Random(seed)
    dropped_path = "/sys/class/net/%s/statistics/tx_dropped" % dev

    def dropped():
        with open(dropped_path) as f:
            return int(f.read())

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    d0 = last = dropped()
    pause = 0.0
    sent = 0
    n = len(frames)
    t0 = time.monotonic()
    try:
        while sent < count and time.monotonic() < deadline:
            for _ in range(min(BURST, count - sent)):
                f = frames[rnd.randrange(n)]
                if f and rnd.random() < 0.25:
                    b = bytearray(f)
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
                    f = bytes(b)
                try:
                    s.send(f)
                except OSError:
                    pass        # frames under 14 bytes or over the MTU: the kernel refuses
                sent += 1
            d = dropped()
            # barenet is a Python process: slow down while the TAP queue overflows
            pause = min(0.01, pause + 0.0005) if d > last else pause * 0.8
            last = d
            if pause > 0.0001:
                time.sleep(pause)
    finally:
        s.close()
    return sent, time.monotonic() - t0, dropped() - d0


def http_get(path):
    c = socket.create_connection((BARENET_IP, 80), timeout=CHECK_TIMEOUT_S)
    try:
        c.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: barenet\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
    finally:
        c.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:80]
    return body


def echo_ok():
    c = socket.create_connection((BARENET_IP, 7), timeout=CHECK_TIMEOUT_S)
    try:
        msg = os.urandom(1000)
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = c.recv(65536)
            if not b:
                break
            got += b
        return got == msg
    finally:
        c.close()


def final_check(dev):
    """-> (status JSON or None, echo worked, error text)."""
    subprocess.run(["ip", "neigh", "flush", "dev", dev], capture_output=True, timeout=10)
    err = ""
    end = time.monotonic() + 3 * CHECK_TIMEOUT_S
    while time.monotonic() < end:   # the first SYN may wait out an ARP retry
        try:
            status = json.loads(http_get(b"/?format=json"))
            return status, echo_ok(), ""
        except (OSError, AssertionError, ValueError) as e:
            err = repr(e)
            time.sleep(0.5)
    return None, False, err


def sender_main(args):
    t0 = time.monotonic()
    frames = frame_pool(args.seed, min(POOL, args.frames))
    gen_s = time.monotonic() - t0
    sent, secs, dropped = send_frames(args.dev, frames, args.frames,
                                      time.monotonic() + args.max_seconds, args.seed)
    time.sleep(1.0)                 # let barenet drain its queue
    status, echo, err = final_check(args.dev)
    print(json.dumps({"sent": sent, "seconds": round(secs, 1), "pool_seconds": round(gen_s, 1),
                      "tap_dropped": dropped, "status": status, "echo": echo, "error": err}))


# -- the driver ------------------------------------------------------------------------------

def run(frames, max_seconds, seed):
    from barenet_host.netns import NetNS, unique_name

    with NetNS() as ns:
        dev = unique_name("z")
        ns.tuntap_add(dev)
        ns.ip("link", "set", "dev", dev, "address", KERNEL_MAC)
        ns.addr(dev, KERNEL_IP + "/24")
        ns.up(dev)
        script = os.path.join(os.path.dirname(sys.executable), "barenet")
        cmd = [script] if os.path.exists(script) else [sys.executable, "-m", "barenet_host.cli"]
        proc = ns.popen(cmd + ["serve", "--tap", dev, "--ip", BARENET_IP + "/24", "--mac",
                               BARENET_MAC] + APPS,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            banner = proc.stdout.readline()
            if not banner.startswith("barenet: serving"):
                raise SystemExit("barenet serve did not start: %r" % banner)
            rss_before = vm_rss_kb(proc.pid)
            child = ns.run([sys.executable, os.path.abspath(__file__), "--sender", "--dev", dev,
                            "--frames", str(frames), "--max-seconds", str(max_seconds),
                            "--seed", str(seed)], timeout=max_seconds + 120)
            if child.returncode != 0:
                raise SystemExit("sender failed: %s" % child.stderr[-2000:])
            r = json.loads(child.stdout.strip().splitlines()[-1])
            r["alive"] = proc.poll() is None
            r["rss_before_kb"] = rss_before
            r["rss_after_kb"] = vm_rss_kb(proc.pid) if r["alive"] else None
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                out, errs = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, errs = proc.communicate(timeout=10)
    st = (r.pop("status") or {}).get("stats", {})
    r["internal_errors"] = st.get("stack", {}).get("drop_internal_error", 0) if st else None
    r["barenet_rx"] = sum(v.get("rx", 0) for k, v in st.items() if k.startswith("if_"))
    r["rate_fps"] = round(r["sent"] / r["seconds"]) if r["seconds"] else 0
    r["serve_stderr"] = errs[-2000:]
    r["ok"] = bool(r["alive"] and r["internal_errors"] == 0 and r["echo"])
    return r


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=1000000)
    p.add_argument("--max-seconds", type=float, default=600)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dev", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sender:
        sender_main(args)
        return 0
    if os.geteuid() != 0:
        raise SystemExit("fuzz_soak.py needs root (a network namespace and a TAP)")
    r = run(args.frames, args.max_seconds, args.seed)
    if args.json:
        print(json.dumps(r))
    else:
        print("frames sent:        %d in %.1f s (%d frames/s; pool of %d made in %.1f s)" % (
            r["sent"], r["seconds"], r["rate_fps"], min(POOL, args.frames), r["pool_seconds"]))
        print("dropped at the TAP: %d (barenet counted %d frames in)" % (r["tap_dropped"],
                                                                       r["barenet_rx"]))
        print("internal errors:    %s" % r["internal_errors"])
        print("VmRSS:              %s kB before, %s kB after" % (r["rss_before_kb"],
                                                                r["rss_after_kb"]))
        print("after the flood:    serve %s, status page %s, echo %s" % (
            "alive" if r["alive"] else "DEAD", "ok" if r["internal_errors"] is not None
            else "FAILED " + r["error"], "ok" if r["echo"] else "FAILED"))
        if r["serve_stderr"].strip():
            print("serve stderr:\n" + r["serve_stderr"])
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
