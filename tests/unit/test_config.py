"""config.py: every tunable in one place, two profiles, overrides checked by name."""

import pytest

from barenet import config
from barenet.config import Config
from barenet.stack import Stack


def test_profiles_set_every_tunable_as_a_plain_attribute():
    for profile in config.PROFILES:
        c = Config(profile)
        assert c.profile == profile
        for name, _ in c.items():
            assert name in vars(c)          # an attribute of its own: hot paths read c.x


def test_the_board_is_small_and_the_host_is_big():
    board, host = Config("board"), Config("host")
    assert board.sndbuf <= 8192 and board.max_connections <= 16
    assert host.sndbuf >= 262144 and host.max_connections >= 1000 and host.syn_backlog >= 1000
    assert board.buf_start == 0 < host.buf_start < host.sndbuf


def test_overrides_replace_one_value_and_unknown_names_are_refused():
    c = Config("board", sndbuf=1234)
    assert c.sndbuf == 1234 and c.rcvbuf == Config("board").rcvbuf
    with pytest.raises(TypeError):
        Config("board", sndbfu=1234)
    with pytest.raises(ValueError):
        Config("laptop")


def test_the_stack_and_its_layers_take_their_limits_from_the_config():
    s = Stack("host", udp_queue=3, arp_size=5, ttl=9, icmp_error_burst=2, syn_backlog=7)
    assert s.cfg.profile == "host"
    assert s.udp.queue == 3 and s.ip.ttl == 9 and s.icmp.error_burst == 2
    assert s.tcp.cfg.syn_backlog == 7
    iface = s.add_interface(type("N", (), {"send": lambda self, f: None})(),
                            mac="02:00:00:00:00:02", ip="192.0.2.2/24")
    assert iface.arp.size == 5
    assert Stack().cfg.profile == "board"
