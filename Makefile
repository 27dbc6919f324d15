# Convenience targets; the README's commands are the reference.
PY ?= .venv/bin/python

.PHONY: screenshots test
screenshots:  ## every dashboard page at 1280 px, zh and en, into docs/screenshots/ (look at them)
	$(PY) scripts/screenshots.py --out docs/screenshots

test:
	$(PY) -m pytest
