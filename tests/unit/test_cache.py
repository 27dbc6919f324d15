"""The result cache: keyed by data version, and its warmed entries frozen out of the garbage collector."""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

from dashboard.cache import VersionedCache
from queries import versions


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


class Counters:
    """The operational store's version counters, as `VersionedCache(current=...)` reads them."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}

    def __call__(self) -> dict[str, int]:
        return dict(self.now)


def counted_cache(tmp_path: Path, *, background: bool = True) -> tuple[VersionedCache, Counters]:
    """A cache over a fresh store file, reading the counters the test moves."""
    store = tmp_path / "store.duckdb"
    store.write_bytes(b"v1")
    counters = Counters()
    return VersionedCache(store, maxsize=8, current=counters, background=background), counters


def _noting(name: str, counters: Counters, value: object, gate: threading.Event | None = None):
    def compute() -> object:
        versions.note(name, counters.now.get(name, 0))
        if gate is not None:
            assert gate.wait(10)
        return value

    return compute


def test_an_appraisal_is_answered_from_the_held_figures_while_newer_ones_are_computed(tmp_path: Path) -> None:
    cache, counters = counted_cache(tmp_path)
    assert cache.get(("ranking",), _noting("appraisals:2025", counters, "old")) == "old"
    first = cache.entry(("ranking",), _noting("appraisals:2025", counters, "never"))
    assert not first.stale and first.reads_appraisals()
    counters.now["appraisals:2025"] = 1  # an appraisal of a 2025 case
    gate = threading.Event()
    held = cache.entry(("ranking",), _noting("appraisals:2025", counters, "new", gate))
    assert held.value == "old" and held.stale and held.computed_at == first.computed_at
    # while the refresh waits, every request is answered at once from the held figures
    assert cache.entry(("ranking",), _noting("appraisals:2025", counters, "other")).value == "old"
    gate.set()
    deadline = time.monotonic() + 10
    while cache.entry(("ranking",), _noting("appraisals:2025", counters, "x")).value != "new":
        assert time.monotonic() < deadline, "the refresh never landed"
        time.sleep(0.01)
    got = cache.entry(("ranking",), _noting("appraisals:2025", counters, "x"))
    assert not got.stale and got.computed_at > first.computed_at
    assert cache.stale_hits >= 2


def test_a_value_asked_for_inside_a_computation_is_never_stale(tmp_path: Path) -> None:
    """A page built now must be built from current figures, not from the ones held."""
    cache, counters = counted_cache(tmp_path)
    cache.get(("ranking",), _noting("appraisals:2025", counters, "old"))
    counters.now["appraisals:2025"] = 1
    page = cache.get(
        ("page",), lambda: "page of " + cache.get(("ranking",), _noting("appraisals:2025", counters, "new"))
    )
    assert page == "page of new"


def test_other_changes_are_computed_before_the_answer(tmp_path: Path) -> None:
    """A rectification step, a supervision or a visit: the user's own action shows at once."""
    cache, counters = counted_cache(tmp_path)
    assert cache.get(("panel",), _noting("supervisions", counters, "none")) == "none"
    counters.now["supervisions"] = 1
    got = cache.entry(("panel",), _noting("supervisions", counters, "one"))
    assert got.value == "one" and not got.stale


def test_without_background_refresh_an_appraisal_recomputes_before_the_answer(tmp_path: Path) -> None:
    cache, counters = counted_cache(tmp_path, background=False)
    cache.get(("ranking",), _noting("appraisals:2025", counters, "old"))
    counters.now["appraisals:2025"] = 1
    assert cache.get(("ranking",), _noting("appraisals:2025", counters, "new")) == "new"


def test_the_background_thread_leaves_the_cores_to_requests(golden_metrics) -> None:
    """The refresh thread's DuckDB connection runs on that thread alone, at a lower priority; the
    connections of request threads keep every core."""
    store = golden_metrics
    got: dict[str, object] = {}

    def background() -> None:
        store.background_thread()
        got["threads"] = store.thread_reader().execute("SELECT current_setting('threads')").fetchone()[0]
        got["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    t = threading.Thread(target=background)
    t.start()
    t.join()
    assert got["threads"] == 1 and got["nice"] >= 10
    request = store.thread_reader().execute("SELECT current_setting('threads')").fetchone()[0]
    assert request > 1 or os.cpu_count() == 1
