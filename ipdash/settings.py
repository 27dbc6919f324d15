"""Settings shared by the command line and the dashboard, each with its help text."""

from __future__ import annotations

DEFAULT_DB = "./data/ipdash.duckdb"
