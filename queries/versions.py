"""What a computed result depends on besides the published analytic file.

The analytic file's identity (a new one at every publish) keys every cache. Results that also read
operational records (appraisals) depend on a version counter of the operational store as well,
and only on the counter of the part they read (`appraisals:<year>`). While a cache computes a
value it opens a frame (`tracking()`); every read of such a counter inside is noted there
(`note`), and the cache keeps the value with those notes: a later lookup that finds a counter
changed computes again, while values that noted nothing (monitoring, the case explorer) stay.
A value taken from a cache inside another computation passes its notes on (`noted`), so a page
built from a cached ranking depends on what the ranking depended on.

All data versions and what each cache keys on: docs/data-versions.md.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping

_local = threading.local()


@contextlib.contextmanager
def tracking() -> Iterator[dict[str, int]]:
    """Collect the counters read inside the block into the yielded dict."""
    stack = _stack()
    frame: dict[str, int] = {}
    stack.append(frame)
    try:
        yield frame
    finally:
        stack.pop()
        if stack:
            stack[-1].update(frame)


def note(name: str, version: int) -> None:
    """Record that what is being computed read counter `name` at `version`."""
    stack = _stack()
    if stack:
        stack[-1][name] = version


def noted(deps: Mapping[str, int]) -> None:
    """Pass a cached value's dependencies on to the computation that uses it."""
    stack = _stack()
    if stack and deps:
        stack[-1].update(deps)


def _stack() -> list[dict[str, int]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def active() -> bool:
    """Whether a computation is noting its dependencies on this thread (a value asked for now is
    part of a larger one)."""
    return bool(_stack())
