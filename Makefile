# Waitify — the two commands: `make run` (demo) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Parallel workers of `make test` (pytest-xdist): "auto" is one per CPU; 0 runs serially.
TEST_WORKERS ?= auto
SERIAL_WORKERS := $(if $(filter 0,$(TEST_WORKERS)),0,1)

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

# Two passes: every test not marked `serial` in parallel (each worker has its own test
# database, test_waitify_gw0…, kept between runs, and its own cache key prefix), then
# the `serial` ones (browser, compose, postgres) one at a time in worker gw0's database,
# so `--create-db` (CI) makes each database once. "No test selected" (5) is no failure.
# `make test PYTEST_ARGS=queues/tests/test_engine.py` runs one file (both passes).
test: install messages browser caddy
	@eval "$$($(PY) scripts/test_services.py)" && \
	  $(PY) -m ruff check . && { \
	  status=0; \
	  $(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --pass parallel $(PYTEST_ARGS) \
	    || { code=$$?; [ $$code -eq 5 ] || status=$$code; }; \
	  $(PY) -m pytest -p no:cacheprovider -n $(SERIAL_WORKERS) --pass serial $(filter-out --create-db,$(PYTEST_ARGS)) \
	    || { code=$$?; [ $$code -eq 5 ] || status=$$code; }; \
	  exit $$status; }

lint: install
	$(PY) -m ruff check .

# Rush-hour shops per machine, this tree and the code before the simplification in the
# same run (about 30 minutes on 2 cores; run it alone on the machine).
bench: install messages
	$(PY) bench/rush.py --compare 8100a3d

# The queue endpoints one by one (wrk, closed loop), with their same-run ratios.
bench-queue: install
	$(PY) bench/run.py

# Wait estimates told at join vs real waits, simulated days: ~5 min.
bench-estimates: install
	$(PY) bench/estimates.py

clean:
	rm -rf $(VENV) staticfiles var
