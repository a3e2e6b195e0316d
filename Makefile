# Two commands matter: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MANAGE := $(BIN)/python manage.py
# The demo is the embedded shape: SQLite and eager Celery, whatever the shell exports.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL DEBUG=1
# DEBUG unset is production (SECRET_KEY required): the bench takes the embedded defaults and
# turns DEBUG off itself once Django is set up, as production runs.
BENCH_ENV := env DEBUG=1

.PHONY: install demo seed serve test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: seed
	@echo "Serving http://127.0.0.1:8000/  (Ctrl-C to stop)"
	$(DEMO_ENV) $(MANAGE) runserver 127.0.0.1:8000

seed: install
	$(DEMO_ENV) $(MANAGE) migrate --noinput
	$(DEMO_ENV) $(MANAGE) seed_demo

serve: install
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

bench: install
	$(BENCH_ENV) $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
