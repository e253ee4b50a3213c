"""barenet's mDNS responder (serve --mdns) against Debian's avahi in a netns (issue 11 item 7):
avahi-resolve finds NAME.local, avahi-browse lists its _http._tcp service with its port and
TXT, and two barenet hosts started with one name on one link end up with two names."""

import pytest

from avahi import Avahi

pytestmark = pytest.mark.root


@pytest.fixture
def avahi(netns, tmp_path):
    box = []

    def start(dev):
        box.append(Avahi(netns, tmp_path, dev))
        return box[0]
    yield start
    for a in box:
        a.close()


def test_avahi_resolves_the_board_and_browses_its_status_page(serve, avahi):
    s = serve("--apps", "http", "--mdns", "board1")
    assert ", mdns board1.local" in s.banner
    a = avahi(s.tap)
    assert a.resolve("board1.local") == "192.0.2.2"
    found = [e for e in a.browse("_http._tcp") if e[0] == "board1"]
    assert found and found[0][1:3] == ("192.0.2.2", 80), found
    assert "board=host" in found[0][3]


def test_two_boards_with_one_name_end_up_with_two_names(serve, netns, avahi):
    # one Ethernet segment: a bridge in the namespace with both TAPs on it, the kernel on it
    netns.run(["ip", "link", "add", "bnbr0", "type", "bridge"], check=True)
    netns.addr("bnbr0", "192.0.2.1/24")
    netns.up("bnbr0")
    taps = []
    for i in range(2):
        tap = "bnm%d" % i
        netns.tuntap_add(tap)
        netns.run(["ip", "link", "set", tap, "master", "bnbr0"], check=True)
        netns.up(tap)
        taps.append(tap)
    a = avahi("bnbr0")
    boards = [serve("--ip", "192.0.2.%d/24" % (2 + i), "--apps", "http", "--mdns", "twin",
                    tap=tap, make_tap=False) for i, tap in enumerate(taps)]
    got = sorted([a.resolve("twin.local"), a.resolve("twin-2.local")])
    assert got == ["192.0.2.2", "192.0.2.3"]
    names = sorted(e[0] for e in a.browse("_http._tcp"))
    assert names == ["twin", "twin-2"], names
    # each board says which name it ended with
    lines = [b.stop()[1] for b in boards]
    assert sum("mDNS: twin-2.local is " in out for out in lines) == 1, lines

