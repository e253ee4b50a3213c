"""A virtual board (barenet virtual-board) per test, and the real mpremote to drive it."""

import pytest

from vboards import VirtualBoard


@pytest.fixture
def board(tmp_path):
    root = tmp_path / "fs"
    root.mkdir()
    b = VirtualBoard(str(root))
    yield b
    b.stop()
