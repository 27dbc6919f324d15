"""Shared fixtures: a fresh store per test and the golden ingest files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.run import ingest
from queries.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
INGEST = FIXTURES / "ingest"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "ipdash.duckdb")


@pytest.fixture
def tree_store(store: Store) -> Store:
    """A store with the golden office tree, staffing and inspectors loaded."""
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("inspectors", "inspectors.csv")):
        summary = ingest(store, kind, [str(INGEST / name)], progress=False)
        assert summary.counts.rejected == 0, kind
    return store
