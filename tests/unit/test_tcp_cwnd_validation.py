"""Congestion-window validation (RFC 7661 motivation, Linux tcp_cwnd_validate): cwnd grows only
while the sender uses it, so an application-limited connection does not build a window the
path never carried.

First the NewReno hook alone (on_sent then on_ack), then a real barenet connection on the
virtual wire whose application sends small chunks every few round trips.
"""

from barenet.tcp import seq
from barenet.tcp.congestion import NewReno
from barenet_host.faults import FaultModel
from barenet_host.vwire import Sim

MSS = 1000
IW = 10 * MSS


def test_without_on_sent_cwnd_grows_on_every_ack():
    # The synthetic senders of test_tcp_congestion.py never call on_sent: unchanged behaviour.
    cc = NewReno(MSS)
    for k in range(1, 11):
        cc.on_ack(MSS, k * MSS, k * MSS, 0)
    assert cc.cwnd == IW + 10 * MSS


def test_slow_start_grows_only_below_twice_the_flight():
    cc = NewReno(MSS)
    una = 2**32 - 1500                                     # the window crosses the wrap
    nxt = seq.add(una, 3 * MSS)
    cc.on_sent(3 * MSS, una, nxt, False)                   # app-limited: 3 segments out
    for k in range(1, 4):
        cc.on_ack(MSS, seq.add(una, k * MSS), nxt, (3 - k) * MSS)
    assert cc.cwnd == IW                                   # 10 >= 2 * 3: no growth
    # A bigger flight (still app-limited) in the next window: grows up to 2 * flight.
    una = nxt
    nxt = seq.add(una, 9 * MSS)
    cc.on_sent(9 * MSS, una, nxt, False)
    for k in range(1, 10):
        cc.on_ack(MSS, seq.add(una, k * MSS), nxt, (9 - k) * MSS)
    assert cc.cwnd == 18 * MSS


def test_slow_start_grows_when_cwnd_limited():
    cc = NewReno(MSS)
    nxt = IW
    cc.on_sent(IW, 0, nxt, True)
    for k in range(1, 11):
        cc.on_ack(MSS, k * MSS, nxt, IW - k * MSS)
    assert cc.cwnd == 2 * IW


def test_congestion_avoidance_grows_only_a_limiting_window():
    cc = NewReno(MSS)
    cc.ssthresh = cc.cwnd = 4 * MSS
    una, nxt = 0, 2 * MSS
    for _ in range(10):                                   # app-limited rounds of 2 segments
        cc.on_sent(2 * MSS, una, nxt, False)
        cc.on_ack(2 * MSS, nxt, nxt, 0)
        una, nxt = nxt, nxt + 2 * MSS
    assert cc.cwnd == 4 * MSS
    for _ in range(2):                                    # cwnd-limited rounds: + 1 SMSS each
        nxt = una + cc.cwnd
        cc.on_sent(cc.cwnd, una, nxt, True)
        cc.on_ack(nxt - una, nxt, nxt, 0)
        una = nxt
    assert cc.cwnd == 6 * MSS


def test_window_record_resets_once_snd_una_passes_its_start():
    cc = NewReno(MSS)
    cc.on_sent(8 * MSS, 0, 8 * MSS, True)                 # a cwnd-limited window
    cc.on_sent(MSS, 0, 8 * MSS, False)                    # still inside it: the record holds
    assert cc.info()["cwnd_limited"] and cc.info()["max_flight"] == 8 * MSS
    cc.on_sent(MSS, 8 * MSS, 9 * MSS, False)              # snd_una reached its end: fresh
    assert not cc.info()["cwnd_limited"] and cc.info()["max_flight"] == MSS


def app_limited(ms, chunk, every_ms):
    """barenet -> barenet, 10 ms each way; the sender writes `chunk` bytes every `every_ms`.
    Returns (largest cwnd seen, largest flight seen, the sender's final info)."""
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", seed=1,
                    sndbuf=1 << 20, rcvbuf=1 << 20)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", seed=2,
                    sndbuf=1 << 20, rcvbuf=1 << 20)
    for nic in wire.nics:
        nic.faults = FaultModel(seed=3, delay_ms=10)
    listener = b.tcp.listen(9)
    conn = a.tcp.connect("192.0.2.2", 9)
    assert sim.run(until=lambda: listener.readable(), max_ms=1000)
    server = listener.accept()
    state = {"next": sim.ms, "cwnd": 0, "flight": 0, "got": 0}

    def app(now):
        if sim.ms >= state["next"]:
            assert conn.send(bytes(chunk)) == chunk
            state["next"] = sim.ms + every_ms
        while True:
            d = server.recv(1 << 16)
            if not d:
                break
            state["got"] += len(d)
        i = conn.info()
        state["cwnd"] = max(state["cwnd"], i["cwnd"])
        state["flight"] = max(state["flight"], i["unacked"])
        return state["next"] - sim.ms

    sim.add_task(app)
    sim.run(max_ms=ms)
    assert state["got"] >= (ms // every_ms - 2) * chunk      # the data did flow
    return state["cwnd"], state["flight"], conn.info()


def test_app_limited_sender_keeps_cwnd_bounded():
    # 4 kB every 100 ms (about four round trips): 10 s of ACKs would have grown slow start's
    # cwnd by every acknowledged byte (to about 400 kB); validated, it stays near the IW.
    cwnd, flight, info = app_limited(10000, 4000, 100)
    assert info["ssthresh"] > cwnd                           # still "slow start", no loss
    assert cwnd <= 2 * flight + info["mss"] * 10, (cwnd, flight)
    assert not info["cwnd_limited"]
