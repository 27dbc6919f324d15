"""The tests, one folder per tier (unit, integration, browser); shared helpers and fixtures here."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
# The product's packages: those the import contracts cover (pyproject.toml), listed there only.
PRODUCT = tuple(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]["root_packages"])
