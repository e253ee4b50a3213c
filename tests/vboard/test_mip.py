"""shared/package.json lists every core file, and the real `mpremote mip install` of it puts a
working core on the virtual board."""

import os

from barenet_host import mip_package


def test_package_json_lists_every_core_file():
    with open(mip_package.PATH) as f:
        assert f.read() == mip_package.text(), "run: python -m barenet_host.mip_package"
    listed = {u[0] for u in mip_package.manifest()["urls"]}
    core = os.path.join(mip_package.SHARED, "barenet")
    on_disk = {os.path.relpath(os.path.join(d, f), mip_package.SHARED)
               for d, _, fs in os.walk(core) for f in fs if f.endswith(".py")}
    assert listed == on_disk and "barenet/stack.py" in listed


def test_mip_install_from_a_local_path(board):
    r = board.mpremote("mip", "install", mip_package.PATH)
    assert "Installing: /lib/barenet/stack.py" in r.stdout, r.stdout
    assert os.path.exists(os.path.join(board.root, "lib", "barenet", "tcp", "__init__.py"))
    r = board.mpremote("exec", "from barenet import addr; print(addr.ip_ntoa(addr.ip_aton('192.0.2.7')))")
    assert r.stdout == "192.0.2.7\n"
