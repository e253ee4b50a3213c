"""Stack.limits(): every bounded table with its limit and what is used, read from the objects
(so an override shows), on the status page (HTML and JSON) as well."""

import json

from barenet.apps.status import StatusPage
from iplink import IPLink, frame, src
from peer import setup


def test_limits_name_every_table_with_the_configured_bound_and_the_use():
    t = IPLink(max_connections=5, udp_endpoints=6, udp_queue=3, reasm_datagrams=2,
               reasm_bytes=12000, icmp_dest_table=7, loop_queue=4, max_listeners=3,
               syn_backlog=2, listen_backlog=1, time_wait_max=9, raw_endpoints=2, raw_queue=5)
    s = t.stack
    s.tcp.listen(80)
    s.udp.bind(53)
    s.icmp.echo_endpoint(9)
    s.raw.open(253)
    s.tcp.connect("192.0.2.1", 7)
    t.frag(src(0), 1, 0, bytes(16), True)
    t.feed(frame(src(1), 2, 0, bytes([0, 1, 0, 99, 0, 9, 0, 0, 1]), False))  # port unreachable
    lim = s.limits()
    want = {"tcp_connections": (5, 1), "tcp_time_wait": (9, 0), "tcp_listeners": (3, 1), "tcp_syn_queue:80": (2, 0),
            "tcp_accept_queue:80": (1, 0), "udp_endpoints": (6, 2), "udp_queue:53": (3, 0),
            "udp_queue:9": (1000, 0), "icmp_echo_queue:9": (s.cfg.echo_queue, 0),
            "raw_endpoints": (2, 1), "raw_queue:253.0": (5, 0),
            "icmp_error_dests": (7, 1), "reasm_datagrams": (2, 1),
            "reasm_bytes": (12000, s.ip.reasm.bytes), "loop_queue": (4, 0),
            "local_endpoints": (s.cfg.local_endpoints, 0)}
    assert {k: (v["limit"], v["used"]) for k, v in lim.items()} == want
    assert s.ip.reasm.bytes > 16


def test_arp_tables_are_listed_per_ethernet_interface():
    sim, stack, iface, peer = setup(arp_size=5, arp_pending=2)
    stack.udp.bind(4000).sendto(b"x", ("192.0.2.1", 9))
    lim = stack.limits()
    assert lim["arp_cache:" + iface.name] == {"limit": 5, "used": 0}
    assert lim["arp_pending:" + iface.name] == {"limit": 2, "used": 1}


def test_the_status_page_shows_the_limits_in_html_and_json():
    t = IPLink(reasm_bytes=12000)
    page = StatusPage(t.stack, 80)
    t.frag(src(0), 1, 0, bytes(16), True)
    snap = json.loads(json.dumps(page.snapshot()))
    assert snap["limits"]["reasm_bytes"] == {"limit": 12000, "used": t.stack.ip.reasm.bytes}
    assert snap["limits"]["tcp_accept_queue:80"]["used"] == 0
    assert snap["limits"]["app_conns:http80"] == {"limit": page.max_conns, "used": 0}
    html = page.html()
    assert "<h2>Limits</h2>" in html
    assert "<tr><td>reasm_bytes</td><td>%d</td><td>12000</td></tr>" % t.stack.ip.reasm.bytes in html
