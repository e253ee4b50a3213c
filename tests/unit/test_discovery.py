"""The discovery responder (apps/discovery.py) on the virtual wire: a client stack broadcasts
the request, the board answers its address with who it is; malformed requests and floods are
counted, never answered beyond the rate limit; the uptime survives the tick wrap."""

import json

from barenet import ticks
from barenet.apps import discovery
from barenet.apps.discovery import Discovery
from barenet_host.client import _discovery_reply
from barenet_host.vwire import Sim

BOARD_MAC = "02:00:00:00:00:02"


def world(start_ms=0, link="ethernet", **kw):
    sim = Sim(start_ms)
    wire = sim.wire(link=link)
    mac = None if link == "ip" else "02:00:00:00:00:01"
    client, _ = sim.host(wire, mac, "192.0.2.1/24")
    board, _ = sim.host(wire, None if link == "ip" else BOARD_MAC, "192.0.2.2/24")
    app = Discovery(board, **kw)
    sim.add_task(app.poll, board)
    ep = client.udp.bind(5000, queue=64)
    return sim, ep, app, board


def ask(sim, ep, payload, dst="255.255.255.255", ms=50):
    ep.sendto(payload, (dst, discovery.PORT))
    sim.advance(ms)
    out = []
    while True:
        got = ep.recvfrom()
        if got is None:
            return out
        out.append(got)


def test_a_broadcast_request_gets_the_boards_facts_back_at_its_source():
    sim, ep, app, board = world(device_name="desk-lamp", board="rp2040-w5500", firmware="1.2")
    sim.advance(3500)
    (data, src), = ask(sim, ep, b"BNDISCOVER1 t0k3n")
    assert src == ("192.0.2.2", discovery.PORT) and data.startswith(b"BNHERE1 ")
    d = json.loads(data[len(b"BNHERE1 "):])
    assert d == {"name": "desk-lamp", "mac": BOARD_MAC, "ip": "192.0.2.2/24",
                 "board": "rp2040-w5500", "firmware": "1.2", "uptime_s": 3, "token": "t0k3n"}
    assert _discovery_reply(data, "t0k3n")["name"] == "desk-lamp"
    assert _discovery_reply(data, "other") is None      # not the answer to our request
    assert board.stats["app_discovery%d" % discovery.PORT] == {"replies": 1}


def test_unicast_request_without_token_and_the_default_firmware_version():
    import barenet
    sim, ep, app, _ = world()
    (data, _), = ask(sim, ep, b"BNDISCOVER1", dst="192.0.2.2")
    d = json.loads(data[8:])
    assert d["token"] == "" and d["firmware"] == barenet.__version__ and d["board"] == "host"


def test_an_ip_link_reports_no_mac():
    sim, ep, app, _ = world(link="ip")
    (data, _), = ask(sim, ep, b"BNDISCOVER1 x", dst="192.0.2.2")
    assert json.loads(data[8:])["mac"] is None


def test_what_is_not_a_request_is_counted_and_dropped():
    sim, ep, app, board = world()
    for junk in (b"", b"hello", b"BNDISCOVER1x", b"BNDISCOVER1 " + b"a" * 33,
                 b"BNDISCOVER1 bad token", b"BNDISCOVER1 \xff", b"BNDISCOVER2 t"):
        assert ask(sim, ep, junk, ms=5) == []
    assert app.stats == {"bad_request": 7}
    assert len(ask(sim, ep, b"BNDISCOVER1 " + b"a" * 32)) == 1   # the longest token


def test_a_flood_is_answered_only_within_the_rate_limit():
    sim, ep, app, _ = world()
    q = app.ep.queue_len        # a queue's worth at a time: the endpoint's queue is bounded
    for _ in range(4):
        for _ in range(q):
            ep.sendto(b"BNDISCOVER1 f", ("192.0.2.2", discovery.PORT))
        sim.advance(1)
    replies = 0
    while ep.recvfrom() is not None:
        replies += 1
    assert replies == discovery.BURST and app.stats["rate_limited"] == 4 * q - discovery.BURST
    sim.advance(discovery.INTERVAL_MS * 3)
    assert len(ask(sim, ep, b"BNDISCOVER1 later")) == 1   # tokens come back with time


def test_uptime_counts_on_across_the_tick_wrap():
    sim, ep, app, _ = world(start_ms=ticks.PERIOD - 5000)
    sim.advance(12000)          # the clock wrapped 5 s in
    assert sim.now < 10000
    (data, _), = ask(sim, ep, b"BNDISCOVER1 w")
    assert json.loads(data[8:])["uptime_s"] == 12


def test_the_idle_responder_still_wakes_to_keep_its_uptime():
    sim, ep, app, _ = world()
    sim.advance(10)
    assert app.poll(sim.now) is not None      # never "only on a frame": diff must not wrap
