"""install() (issue 9 item 7): `import socket` gives barenet's module until uninstall()."""

import importlib
import socket as real_socket
import sys

from barenet import socket as bsock
from barenet_host.vwire import Sim, SimDriver


def _world():
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
    return sim, a, b


def test_install_makes_import_socket_barenet_and_uninstall_restores_it():
    sim, a, b = _world()
    a.tcp.listen(7)
    bsock.install(b, SimDriver(sim))
    try:
        import socket
        import usocket
        assert socket is bsock and usocket is bsock
        s = socket.create_connection(("192.0.2.1", 7), timeout=2)
        assert s.getpeername() == ("192.0.2.1", 7)
        assert socket.gethostbyname("192.0.2.1") == "192.0.2.1"
        s.close()
    finally:
        bsock.uninstall()
    assert importlib.import_module("socket") is real_socket
    assert "usocket" not in sys.modules


def test_module_calls_before_install_say_what_to_do():
    try:
        bsock.socket()
    except OSError as e:
        assert "install" in str(e)
    else:
        raise AssertionError("socket() before install() must fail")
