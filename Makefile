# barenet: `make demo` runs the main job, `make test` runs every test.
# Both bootstrap .venv from pyproject.toml first (and, as root, the Debian tools the tests use).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEBS   := iproute2 iputils-ping netcat-openbsd curl tcpdump procps
PYTEST_ARGS ?=

.PHONY: demo test bench sysdeps venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)

# Debian tools for the interop tests and the demo; only root can install them.
sysdeps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "not root: skipping Debian tools ($(DEBS))"; fi

demo: $(STAMP) sysdeps
	$(PY) -m barenet_host.demo

test: $(STAMP) sysdeps
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

bench: $(STAMP) sysdeps
	$(PY) bench/tcp_tap.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
