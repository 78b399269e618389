# The two commands a newcomer needs: `make run` and `make test`. Each sets up what it uses.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FIXTURE_TMP := $(shell mktemp -u -d /tmp/explainers-fixture.XXXXXX)

.PHONY: run test lint fixtures prod-check api-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# The site, and beside it the worker that draws the renditions of images as they are saved
# (django-tasks' db_worker, its queue in the same database); Ctrl+C stops both.
run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py setup_roles
	$(BIN)/python manage.py load_initial_content
	$(BIN)/python manage.py make_renditions --missing
	$(BIN)/python manage.py render_cards
	$(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# axe-core, for the browser tests' accessibility check (see package.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.dev-installed node_modules/.installed
	$(BIN)/python -m pytest

# What the Docker image runs, outside Docker: production settings, check --deploy,
# collectstatic, gunicorn against PostgreSQL and Redis, and a few requests.
prod-check: $(VENV)/.runtime-installed
	$(BIN)/python docker/prod_check.py

# schemathesis against the API's OpenAPI document, on the dev server with the seed content.
api-check: $(VENV)/.dev-installed
	tests/schemathesis_run.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Rebuild fixtures/explainers.json from fixtures/listings/ on a throwaway database.
fixtures: $(VENV)/.runtime-installed
	mkdir -p $(FIXTURE_TMP)
	DATABASE_URL=sqlite:///$(FIXTURE_TMP)/db.sqlite3 DJANGO_MEDIA_ROOT=$(FIXTURE_TMP)/media sh -c '\
	  $(BIN)/python manage.py migrate --no-input -v0 && \
	  $(BIN)/python manage.py import_listings fixtures/listings --parent "AI Principles" && \
	  $(BIN)/python manage.py export_fixture --output fixtures/explainers.json'
	rm -rf $(FIXTURE_TMP)

clean:
	rm -rf $(VENV) staticfiles test-artifacts
