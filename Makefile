# Waitify — the two commands: `make run` (demo) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test install browser caddy lint messages bench bench-queue bench-estimates clean

$(VENV)/.installed: pyproject.toml
	@echo "Installing Python packages into $(VENV) (first run: a few minutes)…"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

# Compiled message catalogues are built from the committed .po files.
messages: install
	@$(PY) manage.py compilemessages --ignore=.venv -v 0

browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

RUN_ADDR ?= 127.0.0.1:8000

run: install messages
	@echo "Preparing the database (first run: about a minute)…"
	@$(PY) manage.py migrate --no-input -v 0
	@SITE_URL=$${SITE_URL:-http://$(RUN_ADDR)} $(PY) manage.py seed_demo
	@echo "Starting the demo server on http://$(RUN_ADDR)/ (Ctrl+C to stop)…"
	@SITE_URL=$${SITE_URL:-http://$(RUN_ADDR)} DEBUG=true $(PY) manage.py run_embedded $(RUN_ADDR)

# The compose tests validate the Caddyfile with Debian's caddy.
caddy:
	@command -v caddy >/dev/null || { \
	  echo "Installing Debian's caddy for the Caddyfile test…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy) >/dev/null; }

test: install messages browser caddy
	@eval "$$($(PY) scripts/test_services.py)" && \
	  $(PY) -m ruff check . && \
	  $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

# Rush-hour shops per machine, this tree and the code before the simplification in the
# same run (about 30 minutes on 2 cores; run it alone on the machine).
bench: install messages
	$(PY) bench/rush.py --compare 8100a3d

# The queue endpoints one by one (wrk, closed loop), with the issue 3 ratios.
bench-queue: install
	$(PY) bench/run.py

# Wait estimates told at join vs real waits, simulated days (issue 16): ~5 min.
bench-estimates: install
	$(PY) bench/estimates.py

clean:
	rm -rf $(VENV) staticfiles var
