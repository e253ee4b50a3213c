"""examples/unix_ipc.py: on CPython's own AF_UNIX sockets (names are files under a tmp dir)
and, unchanged, over barenet after install() (names in the stack's namespace: no files, no IP
traffic). The MicroPython VM run is in tests/micropython/test_sockets_raw_unix_vm.py."""

import os

import pytest

from test_raw_ping import installed, load

barenet_installed = pytest.fixture(installed)


def test_on_cpython_af_unix(tmp_path):
    lines = []
    assert load("unix_ipc").main([str(tmp_path / "ipc"), "6"], log=lines.append) == 12
    assert lines[-1] == "unix_ipc: 12 of 12 replies"
    assert os.listdir(tmp_path) == []     # the example removes its socket files


def test_over_barenet(barenet_installed, tmp_path):
    a, b = barenet_installed
    before = {k: v for k, v in b.stats.items() if k != "local"}
    lines = []
    assert load("unix_ipc").main([str(tmp_path / "ipc"), "6"], log=lines.append) == 12
    assert lines[-1] == "unix_ipc: 12 of 12 replies"
    st = b.stats
    assert st["local"]["connects"] == 1 and st["local"]["dgrams"] == 12
    assert {k: v for k, v in st.items() if k != "local"} == before   # IP, NIC: unchanged
    assert b.local.count == 0             # every socket closed
