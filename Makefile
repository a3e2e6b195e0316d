# Two commands matter: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check
# The demo needs the runtime packages only; tests and lint add the dev extra (Playwright,
# schemathesis, hypothesis, an OpenAPI client generator: most of a fresh install's time).
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
MANAGE := $(BIN)/python manage.py
# pyproject.toml's runtime dependencies, installed as they are: the demo runs from the checkout,
# so nothing is built (no setuptools in an isolated build environment).
RUNTIME_DEPS = $(shell $(PYTHON) -c 'import tomllib; print(" ".join(repr(d) for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
# The demo is the embedded shape: SQLite and eager Celery, whatever the shell exports.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL DEBUG=1

.PHONY: install install-runtime demo seed serve test lint format bench bench-pages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing the runtime packages into $(VENV)…"
	$(PIP) install --quiet --prefer-binary $(RUNTIME_DEPS)
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml $(RUNTIME_STAMP)
	@echo "Installing the project with its dev tools into $(VENV)…"
	$(PIP) install --quiet --prefer-binary -e '.[dev]'
	touch $(STAMP)

install-runtime: $(RUNTIME_STAMP)

install: $(STAMP)

# `make demo`: install (runtime only), migrate, seed with a progress bar, serve.
demo: seed
	@echo "Serving http://127.0.0.1:8000/  (Ctrl-C to stop)"
	$(DEMO_ENV) $(MANAGE) runserver 127.0.0.1:8000

seed: install-runtime
	$(DEMO_ENV) $(MANAGE) migrate --noinput
	$(DEMO_ENV) $(MANAGE) seed_demo

serve: install-runtime
	$(DEMO_ENV) $(MANAGE) runserver 127.0.0.1:8000

# Two workers (the target machine has two cores); tests marked xdist_group share one worker.
# The slowest 15 are printed so a slow test is seen when it arrives.
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-runtime
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Every menu page of every role in Chromium against the 1 s goal (bench/page_ready.py): the demo
# served as production serves it (gunicorn, DEBUG off, whitenoise). Playwright is a dev tool.
bench-pages: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python bench/page_ready.py $(PAGES_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
