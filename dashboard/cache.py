"""Computed results kept per data version, so that clicking around costs a lookup, not a ranking.

A ranking with its Monte Carlo takes about a second; a drill-down click must answer in tens of
milliseconds. Results are therefore cached under a key that begins with the version of the
published store: the inode and modification time of the DuckDB file, which every ingest replaces
by an atomic rename. A new ingest changes the version, so nothing computed from the old data is
ever served for the new; the old entries simply age out of the LRU.

Results that read operational records (the appraisals behind the quality figures) also depend on
a version counter of the operational store, noted while they are computed (queries/versions.py);
such an entry is used only while its counters are unchanged, so an appraisal recomputes the
figures of its year on the next page load and leaves every other entry warm.

Two requests for the same missing key compute it once (the second waits for the first).

Writes do not stall reads. An appraisal moves the counter of its year, and the year's figures (its
indicators, rankings with their 1,000-run Monte Carlo, the pages built on them) are then out of
date. A request that finds such an entry is answered at once with the figures it holds, and the
entry is brought up to date in the background (one refresh at a time per worker, each entry at
most once every `REFRESH_AFTER` seconds, the refresh itself computing what it needs afresh); the
page says when the figures it shows took in the appraisals (`Entry.computed_at`) and that newer
ones are being counted. Only entries whose moved counters are all appraisal counters are served
this way; any other change (a rectification step, a supervision, a visit: cheap to rebuild, and
users expect their own action to show) is computed before the answer, as is everything a new
publish touches (the publish is part of every key).

A warmed cache holds about a million Python objects, and a full pass of Python's cyclic garbage
collector over them took 1.2 s (measured), holding the GIL: every request in flight waited. After
the warm-up `settle()` collects once and freezes what is left out of the collector's sight
(`gc.freeze`); when the data version changes, the frozen objects are handed back to it, so the old
version's entries can be collected as they age out.

All data versions and what each cache keys on: docs/data-versions.md.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from queries import versions as deps_of

T = TypeVar("T")
log = logging.getLogger(__name__)
REFRESH_AFTER = 2.0  # seconds between two background refreshes of one entry
STALE_OK = "appraisals"  # counters (by prefix) whose change may be answered from the entry held


@dataclass(frozen=True)
class Entry:
    """A cached value with what it depends on and when it was computed (time.time())."""

    value: Any
    deps: Mapping[str, int]
    computed_at: float
    stale: bool = False  # served while a newer value is being computed

    def reads_appraisals(self) -> bool:
        return any(name.startswith(STALE_OK) for name in self.deps)


def data_version(path: str | os.PathLike) -> tuple[int, int]:
    """The identity of the published store file: (inode, mtime in ns)."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


class VersionedCache:
    """A thread-safe LRU of computed values keyed by (data version, *key).

    Args:
        path: the published store file, whose identity is the data version.
        maxsize: entries kept.
        current: the operational store's version counters now (`OpStore.versions`); entries that
            noted a counter are checked against it.
        background: refresh out-of-date appraisal figures in the background (False: compute them
            before answering, as every other change is).
        background_init: called once in the background thread before its first refresh (the
            store lowers the thread's priority and its DuckDB threads there).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        maxsize: int = 512,
        current: Callable[[], Mapping[str, int]] | None = None,
        *,
        background: bool = True,
        background_init: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.maxsize = maxsize
        self.current = current
        self.background = background
        self.background_init = background_init
        self._items: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._refreshing: dict[Hashable, float] = {}  # key -> when its last refresh began
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.hits = self.misses = self.stale_hits = 0
        self._frozen_for: tuple[int, int] | None = None

    def version(self) -> tuple[int, int]:
        return data_version(self.path)

    def settle(self) -> None:
        """Collect garbage once and freeze the survivors (the warmed entries) out of the collector."""
        gc.collect()
        gc.freeze()
        self._frozen_for = self.version()

    def get(self, key: tuple, compute: Callable[[], T]) -> T:
        """The cached value of `key` for the current data version, computing it when absent."""
        return self.entry(key, compute).value

    def entry(self, key: tuple, compute: Callable[[], Any]) -> Entry:
        """The cached entry of `key` (its value, dependencies and time of computation)."""
        version = self.version()
        if self._frozen_for is not None and version != self._frozen_for:
            self._frozen_for = None
            gc.unfreeze()  # the old version's entries may be collected again
        full = (version, *key)
        # A value asked for inside another computation (a page's ranking) is never served stale:
        # what is being built must be built from current figures.
        outermost = not deps_of.active()
        with self._lock:
            found = self._fresh(full, stale_ok=outermost and self.background)
            if found is not None:
                if found.stale:
                    self.stale_hits += 1
                    self._refresh(full, compute)
                else:
                    self.hits += 1
                return found
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                found = self._fresh(full, stale_ok=False)
                if found is not None:
                    self.hits += 1
                    return found
            got = self._compute(full, compute)
            with self._lock:
                self.misses += 1
                self._computing.pop(full, None)
            return got

    def _compute(self, full: Hashable, compute: Callable[[], Any]) -> Entry:
        at = time.time()
        with deps_of.tracking() as deps:
            value = compute()
        got = Entry(value, dict(deps), at)
        with self._lock:
            self._items[full] = got
            self._items.move_to_end(full)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return got

    def _refresh(self, full: Hashable, compute: Callable[[], Any]) -> None:
        """Recompute `full` in the background unless a refresh of it began less than REFRESH_AFTER
        seconds ago (the caller holds the lock)."""
        now = time.monotonic()
        began = self._refreshing.get(full)
        if began is not None and now - began < REFRESH_AFTER:
            return
        if len(self._refreshing) >= self.maxsize:  # only recent starts matter: forget the rest
            self._refreshing = {k: t for k, t in self._refreshing.items() if now - t < REFRESH_AFTER}
        self._refreshing[full] = now
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="ipdash-refresh", initializer=self.background_init
            )

        def run() -> None:
            # The stale entry stays in place while its successor is computed: requests meanwhile
            # are answered from it, not made to wait.
            with self._lock:
                gate = self._computing.setdefault(full, threading.Lock())
            with gate:
                try:
                    self._compute(full, compute)
                except Exception:  # the stale entry stays; the next request tries again
                    log.exception("background refresh of %r failed", full)
            with self._lock:
                self._computing.pop(full, None)

        self._pool.submit(run)

    def _fresh(self, full: Hashable, *, stale_ok: bool) -> Entry | None:
        """The entry if it is cached and its noted counters are current; with `stale_ok`, also an
        entry whose moved counters are all appraisal counters, marked stale; else None (the caller
        holds the lock)."""
        got = self._items.get(full)
        if got is None:
            return None
        if got.deps:
            now = self.current() if self.current else {}
            moved = [name for name, v in got.deps.items() if now.get(name, 0) != v]
            if moved:
                if stale_ok and all(name.startswith(STALE_OK) for name in moved):
                    self._items.move_to_end(full)
                    return Entry(got.value, got.deps, got.computed_at, stale=True)
                del self._items[full]
                return None
            deps_of.noted(got.deps)
        self._items.move_to_end(full)
        return got

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
