"""Small network services shared by the host harness and the boards (MicroPython-compatible)."""
