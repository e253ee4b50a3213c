"""barenet: a TCP/IP stack in plain Python (DESIGN.md). The version is the package's, read by
pyproject.toml, and what a board reports as its firmware version (apps/discovery.py)."""

__version__ = "0.1.0"
