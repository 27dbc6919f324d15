# Convenience targets; the README's commands are the reference.
PY ?= .venv/bin/python
BIN ?= .venv/bin

.PHONY: check check-fast static test screenshots
check: static test  ## the one check command: lint, format, types, import contracts, tests

static:  ## everything of `check` except the tests (CI runs it before the README's test command)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test:
	$(PY) -m pytest

screenshots:  ## every dashboard page at 1280 px, zh and en, into docs/screenshots/ (look at them)
	$(PY) scripts/screenshots.py --out docs/screenshots

check-fast:  ## static checks and the unit tier: the quick loop before a commit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PY) -m pytest -m unit -q
