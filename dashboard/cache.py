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

A warmed cache holds about a million Python objects, and a full pass of Python's cyclic garbage
collector over them took 1.2 s (measured), holding the GIL: every request in flight waited. After
the warm-up `settle()` collects once and freezes what is left out of the collector's sight
(`gc.freeze`); when the data version changes, the frozen objects are handed back to it, so the old
version's entries can be collected as they age out.

All data versions and what each cache keys on: docs/data-versions.md.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from queries import versions as deps_of

T = TypeVar("T")
_MISS = object()


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
    """

    def __init__(
        self, path: str | os.PathLike, maxsize: int = 512, current: Callable[[], Mapping[str, int]] | None = None
    ) -> None:
        self.path = path
        self.maxsize = maxsize
        self.current = current
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = self.misses = 0
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
        version = self.version()
        if self._frozen_for is not None and version != self._frozen_for:
            self._frozen_for = None
            gc.unfreeze()  # the old version's entries may be collected again
        full = (version, *key)
        with self._lock:
            found = self._fresh(full)
            if found is not _MISS:
                self.hits += 1
                return found
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                found = self._fresh(full)
                if found is not _MISS:
                    self.hits += 1
                    return found
            with deps_of.tracking() as deps:
                value = compute()
            with self._lock:
                self.misses += 1
                self._items[full] = (value, dict(deps))
                self._items.move_to_end(full)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
                self._computing.pop(full, None)
            return value

    def _fresh(self, full: Hashable) -> Any:
        """The entry's value if it is cached and its noted counters are current, else _MISS (the
        caller holds the lock)."""
        if full not in self._items:
            return _MISS
        value, deps = self._items[full]
        if deps:
            now = self.current() if self.current else {}
            if any(now.get(name, 0) != v for name, v in deps.items()):
                del self._items[full]
                return _MISS
            deps_of.noted(deps)
        self._items.move_to_end(full)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
