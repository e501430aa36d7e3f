# Tandem: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TANDEM_ENV ?= development

.PHONY: run test lint typecheck check install benchmarks clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

## Set up everything and serve the tool with its demo LMS on http://127.0.0.1:5000 (demo at /demo).
run: $(STAMP)
	@mkdir -p instance
	$(BIN)/tandem db upgrade
	$(BIN)/tandem keys ensure
	$(BIN)/tandem demo
	$(BIN)/tandem run --host 127.0.0.1 --port 5000

## The whole suite (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check lti_app lms_clients config tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/launch.py
	$(BIN)/python benchmarks/roster_sync.py
	$(BIN)/python benchmarks/matching.py
	$(BIN)/python benchmarks/completion_sync.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
