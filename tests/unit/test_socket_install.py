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


def test_ssl_imports_over_installed_barenet_and_socket_is_a_class():
    # urllib.request and paho-mqtt import ssl, which subclasses socket.socket and imports
    # SO_TYPE and _GLOBAL_DEFAULT_TIMEOUT: a fresh copy of it is run with barenet installed
    import importlib.util
    sim, a, b = _world()
    a.tcp.listen(7)
    bsock.install(b, SimDriver(sim))
    try:
        spec = importlib.util.spec_from_file_location("ssl_probe",
                                                      importlib.util.find_spec("ssl").origin)
        probe = sys.modules["ssl_probe"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(probe)
        assert issubclass(probe.SSLSocket, bsock.socket)
        import socket
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        assert (u.family, u.type) == (socket.AF_INET, socket.SOCK_DGRAM)
        u.close()
        # http.client passes CPython's marker on: the socket's default timeout then applies
        s = socket.create_connection(("192.0.2.1", 7), socket._GLOBAL_DEFAULT_TIMEOUT)
        assert s.gettimeout() is None
        s.close()
    finally:
        sys.modules.pop("ssl_probe", None)
        bsock.uninstall()
