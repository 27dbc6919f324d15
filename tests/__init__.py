"""The tests, one folder per tier (unit, integration, browser); shared helpers and fixtures here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
