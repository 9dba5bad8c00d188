# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Both create the virtualenv from the pinned lock file on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format bench messages lock clean worker

$(STAMP): requirements/dev.txt
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" || { echo "Python 3.11 is needed (found: $(PYTHON))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

## Migrate, load demo data into an empty database, serve on http://127.0.0.1:8000 with a Celery worker
## (HOST and PORT pick another address: PORT=8001 make run; PERFMGMT_DEMO=0 make run starts empty,
## and the first visit opens the set-up page).
run: $(STAMP)
	PYTHON=$(PY) bash bin/serve

## The whole test suite (SQLite by default; PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks against PostgreSQL (and Redis for the Celery path); DuckDB and locust are bench-only dependencies.
bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements/bench.txt
	$(PY) bench/run.py

## Re-extract translatable strings and compile them (needs GNU gettext).
messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=var --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv

## Re-pin requirements/*.txt from pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --python-version 3.11 --no-header -o requirements/base.txt
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements/dev.txt
	uv pip compile requirements/bench.in -c requirements/dev.txt --python-version 3.11 --no-header -o requirements/bench.txt

## A worker with beat, for every queue, on its own (beside `manage.py runserver`); started again if it
## exits (bin/supervise). make run starts its own two workers: docs/deploy.md.
worker: $(STAMP)
	bash bin/supervise "Celery worker" - $(PY) -m celery -A perfmgmt worker -B -l info

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
