# barenet: `make demo` runs the main job, `make test` runs every test.
# Both bootstrap .venv from pyproject.toml first (and, as root, the Debian tools the tests use),
# and the 32-bit MicroPython VM (npm package pinned in tests/micropython/mpy32/package.json).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBS   := iproute2 iputils-ping netcat-openbsd curl tcpdump tshark procps apache2-utils mosquitto mosquitto-clients chromium dnsmasq-base busybox ethtool avahi-daemon avahi-utils dbus
PYTEST_ARGS ?=
# `make bench BENCH_ARGS=--quick` (tiny sizes) or BENCH_ARGS='--only tap,path': bench/run_all.py
BENCH_ARGS ?=
# The 32-bit MicroPython VM (WebAssembly, run by Node.js): ../shared/reference/mpy32.md
MPY32  := tests/micropython/mpy32
MPY32_STAMP := $(MPY32)/node_modules/.installed

.PHONY: demo test bench sysdeps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# npm ci installs exactly what package-lock.json pins; node_modules/ is git-ignored.
$(MPY32_STAMP): $(MPY32)/package.json $(MPY32)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run 'make sysdeps' as root" \
	  "(Debian's nodejs and npm) to install the 32-bit MicroPython VM"; exit 1; }
	cd $(MPY32) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP) $(MPY32_STAMP)

# Debian tools for the interop tests and the demo; only root can install them. Node.js and npm
# count as present when their commands are (a nodejs from another source bundles npm, and
# Debian's npm package would conflict with it).
sysdeps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  command -v node >/dev/null || command -v nodejs >/dev/null || missing="$$missing nodejs"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "not root: skipping Debian tools ($(DEBS) nodejs npm)"; fi

demo: $(STAMP) sysdeps
	$(PY) -m barenet_host.demo

test: sysdeps $(STAMP) $(MPY32_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: sysdeps $(STAMP) $(MPY32_STAMP)
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(MPY32)/node_modules
