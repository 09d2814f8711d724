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

.PHONY: install run test lint typecheck unit stop clean

install: $(VENV)/.installed

# System packages are checked on every install (cheap when present); the virtualenv is
# rebuilt only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml scripts/install-system-packages.sh
	@scripts/install-system-packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: install
	$(BIN)/dinamis db start
	$(BIN)/dinamis db migrate
	$(BIN)/dinamis demo --items $(DEMO_ITEMS)
	$(BIN)/dinamis serve --host $(HOST) --port $(PORT)

test: install lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

stop: install
	$(BIN)/dinamis db stop

clean: stop
	rm -rf .dinamis
