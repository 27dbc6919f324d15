"""The result cache: keyed by data version, and its warmed entries frozen out of the garbage collector."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from dashboard.cache import VersionedCache


def test_a_new_data_version_misses_and_unfreezes_the_settled_entries(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(b"v1")
    cache = VersionedCache(store, maxsize=8)
    calls = []
    try:
        assert cache.get(("k",), lambda: calls.append(1) or [1, 2]) == [1, 2]
        cache.settle()
        assert gc.get_freeze_count() > 0
        assert cache.get(("k",), lambda: calls.append(1) or [9]) == [1, 2] and len(calls) == 1
        os.utime(store, ns=(1, 1))  # what an ingest's atomic rename changes
        assert cache.get(("k",), lambda: calls.append(1) or [3]) == [3] and len(calls) == 2
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_the_least_recently_used_entry_goes_first(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(b"v1")
    cache = VersionedCache(store, maxsize=2)
    cache.get(("a",), lambda: "a")
    cache.get(("b",), lambda: "b")
    cache.get(("a",), lambda: "a again")  # a is now the most recent
    cache.get(("c",), lambda: "c")  # evicts b
    assert cache.get(("a",), lambda: "recomputed") == "a"
    assert cache.get(("b",), lambda: "recomputed") == "recomputed"
