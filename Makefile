# honeyfarm — `make demo` and `make test` work from a clean clone on a fresh
# Debian 12 machine with Python 3.11: they build .venv, install what is needed
# (Python packages, the offline ASN database, apt packages the tests use), then run.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ASN_DIR := $(VENV)/share/honeyfarm/asn
STAMP  := $(VENV)/.installed
UV_DIR := .cache/uv
UV     := $(UV_DIR)/bin/uv
# The dashboard's front-end assets (JS, CSS, fonts, world map) from the npm registry.
WEB_STAMP := src/honeyfarm/views/web/static/vendor/.built

.PHONY: install lock web demo demo-deps test bench bench-sensor bench-traps bench-stall bench-scan bench-services bench-dashboard bench-100m screenshots lint system-deps clean

install: $(STAMP) $(ASN_DIR)/asn-ipv4-num.csv $(WEB_STAMP)

web: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json web/build.mjs
	scripts/build-web.sh

# uv, pinned by hash, in its own small venv; it installs exactly uv.lock into .venv.
$(UV): scripts/uv-requirements.txt
	rm -rf $(UV_DIR)
	$(PYTHON) -m venv $(UV_DIR)
	$(UV_DIR)/bin/python -m pip install -q --isolated --disable-pip-version-check --no-deps --require-hashes -r scripts/uv-requirements.txt

# The package (editable), its dependencies and the dev/test tools, exactly as locked:
# --locked fails if uv.lock does not match pyproject.toml instead of re-resolving.
$(STAMP): pyproject.toml uv.lock $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --quiet --python $(PYTHON)
	touch $@

# Deliberate upgrade: re-resolve every dependency to its newest allowed release, then
# install and run the whole suite before committing the new uv.lock (README: Upgrading).
lock: $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) lock --upgrade --python $(PYTHON)
	@echo "uv.lock upgraded: review 'git diff uv.lock', then run 'make test' before committing it"

$(ASN_DIR)/asn-ipv4-num.csv: | $(STAMP)
	scripts/fetch-asn-db.sh $(ASN_DIR)

# apt packages used by the test suite (real peers, clients); no-op when present.
system-deps:
	scripts/install-system-deps.sh

# The demo scans what its traps catch: libmagic (file types) and clamd (ClamAV), from Debian when missing.
# Best effort: without clamd the demo says so and scans with YARA alone.
demo-deps:
	-HONEYFARM_APT_PACKAGES="libmagic1 clamav clamav-daemon" scripts/install-system-deps.sh

demo: install demo-deps
	$(BIN)/honeyfarm demo

test: install system-deps
	$(BIN)/python -m pytest --durations=40

bench: install
	$(BIN)/python bench/ingest.py

# SSH trap vs real Cowrie 3.1.4 (installed from PyPI into a cache venv on first use; needs root).
bench-sensor: install system-deps
	$(BIN)/python bench/sensor.py

# Web trap vs a plain aiohttp server (requests/s, CPU per request); RSS with every trap enabled.
bench-traps: install system-deps
	$(BIN)/python bench/sensor_traps.py

# The sensor's event loop under GEX-8192 + floods + hydra, with and without its remedies (needs root).
bench-stall: install system-deps
	$(BIN)/python bench/sensor_stall.py

# honeyfarm scan (YARA + ClamAV) vs the yara and clamdscan CLIs; VirusTotal's queue at the quota.
bench-services: install system-deps
	$(BIN)/python bench/sensor_services.py

bench-scan: install system-deps
	$(BIN)/python bench/scan.py

# Every view at 10M events (builds and caches the lake under bench/out/ on first use).
bench-dashboard: install
	$(BIN)/python bench/dashboard.py --no-explain

# Re-take the screenshots in docs/screenshots/: every view over a lake of the real sample logs of every format
# (../shared/samples), served by `honeyfarm serve` and shot by headless Chromium.
# 100M events over a year: builds the lake once (cached under bench/out/), then ingest rate, peak RSS,
# bytes per event and every panel's and view call's latency (see bench/lake100m.py).
bench-100m: install
	$(BIN)/python bench/lake100m.py

screenshots: install system-deps
	$(BIN)/python scripts/screenshots.py --out docs/screenshots

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) honeyfarm-data honeyfarm-demo bench/out web/node_modules src/honeyfarm/views/web/static/vendor
