# PayPlan: the verbs people expect. `make run` for the demo, `make test` for the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings.test
PYTEST_ARGS ?=

.PHONY: install run test test-slow lint bench widget e2e-deps migrate demo-data services clean lock

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-* && touch $@

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
	  -o requirements.lock pyproject.toml

migrate: install
	mkdir -p var/broker/queue var/broker/processed var/broker/control
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py collectstatic --no-input -v 0

demo-data: migrate
	$(BIN)/python manage.py payplan_demo_load
	$(BIN)/python manage.py payplan_bitrix24_demo_load

run: export PAYPLAN_DEMO ?= 1  # demo shortcuts (/demo/, loopback install, long tokens) exist only here
run: demo-data  ## the demo: web, worker with beat, sandboxes; Ctrl-C stops all
	$(BIN)/honcho --procfile Procfile.demo start

services:
	scripts/ensure_services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install services lint e2e-deps  ## the whole suite against this machine's PostgreSQL and Redis, minus `slow`
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist loadfile -q -m "not slow" $(PYTEST_ARGS)

test-slow: install services  ## only the tests marked slow (the 10 000-line PDF: minutes on two cores)
	$(TEST_ENV) $(BIN)/pytest -q -m slow $(PYTEST_ARGS)

e2e-deps:  ## Debian's Chromium for the browser tests (Playwright drives it; no browser download)
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

widget:  ## dist/widget.zip: the amoCRM widget archive, manifest.json at its root
	$(PYTHON) frontend_widget/tools/build_zip.py --out dist/widget.zip

bench: install services
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/tick.py --lines 4000 --deals 400 --baseline-lines 400  # [I] the full run: no arguments

.PHONY: bench-analytics
bench-analytics: install services  ## analytics at scale: make bench-analytics SCALE=full (1 000 000 lines; minutes)
	nice $(BIN)/python bench/analytics.py --scale $(or $(SCALE),small)

.PHONY: fuzz
fuzz: install services  ## schemathesis --checks all over /api/schema/ on a live loopback server (own venv .venv-fuzz)
	mkdir -p var && scripts/fuzz.sh

clean:
	rm -rf $(VENV) var dist

.PHONY: documents-samples
documents-samples: install  ## one of each document with sample data: var/documents-samples/*.pdf and *.png
	command -v pdftoppm >/dev/null || (apt-get update -qq && apt-get install -y -qq poppler-utils)
	$(BIN)/python manage.py payplan_documents_samples --out var/documents-samples --png
