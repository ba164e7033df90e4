# Opora: `make run` serves the app; `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck unit install install-test browser services demo clean i18n

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Opora needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP)

install-test: $(TEST_STAMP)

## make browser: Debian's chromium and a Cyrillic font for tests/browser (apt-get, as root)
browser:
	@sh scripts/install-browser

## make services: Debian's Dovecot for tests/channels/email (apt-get, as root; never left running)
services:
	@sh scripts/install-test-services

## make run: install, migrate, load demo data on the first start, serve on :8000
run: $(STAMP)
	$(BIN)/opora migrate
	$(BIN)/opora demo --if-empty
	$(BIN)/opora serve --host 127.0.0.1 --port 8000 --no-migrate

demo: $(STAMP)
	$(BIN)/opora demo

## make test: lint, types, layer contracts, the whole test suite
test: lint typecheck unit

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# two workers (pytest-xdist), each taking whole files: 11 min -> 7 min on 2 cores.
# `make unit TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
unit: $(TEST_STAMP) browser services
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## make i18n: extract the pages' strings, update the en/ru catalogs, compile them (.mo)
LOCALE := src/opora/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-o $(LOCALE)/messages.pot src/opora
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages \
		--no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE) -D messages --statistics

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
