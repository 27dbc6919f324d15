"""Results of the heavy aggregate queries, kept on disk beside the store for one published version.

The indicator, monitoring and archive aggregates each read every case of a year (about 2 s a year
at 5M cases), and the dashboard's workers, `ipdash scores` and `ipdash report` ask for the same
ones again and again between two publishes. A published store never changes (SPEC §7: a publish
replaces the file whole), so a query's result is a pure function of

- the publish it ran on (`meta.publish_id`, new at every publish, unlike the version counter,
  which starts again at 1 when a store is rebuilt),
- the SQL text and its parameters (a changed indicator definition is a changed SQL text),
- the registered input relations it joins (the time-limit rule table and the working-day table,
  digested by content), and the DuckDB version that ran it.

The result is kept as Parquet under `<store>.cache/<publish>/<sha256 of all that>.parquet`. A
miss runs the query and writes the file atomically (temporary file, then rename), so processes
can share the directory. A file that cannot be read is recomputed and replaced; a directory that
cannot be written costs only the speed. Creating the directory of a new publish removes those of
older publishes, and one publish's results are kept under 1 GiB (oldest first out). The cache holds
the same confidential aggregates as the store: its directories are readable by the owner only.

Besides query results, a computed value that several workers would each compute after the same
change (a ranking with its Monte Carlo, after an appraisal) is shared as a JSON file
(`shared_value`): the first process computes it holding a lock on its key, the others wait and
read what it wrote, so a change is computed once for every worker and host, not once per worker.

Set IPDASH_RESULT_CACHE=off to run every query against the store.

All data versions and what each cache keys on: docs/data-versions.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from core import settings
from queries import versions
from queries.meta_keys import PUBLISH_ID_KEY
from queries.statements import duck_sql

log = logging.getLogger(__name__)

FORMAT = 1  # bump when what a file holds changes meaning
SWITCH = "IPDASH_RESULT_CACHE"
MAX_BYTES = 1 << 30  # per publish; past it the least recently written results go first
_warned: set[str] = set()  # directories already reported as not writable (once per process)


def cache_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The directory for results of the publish `con` reads, or None (no cache: switched off, not a
    store file, or a store published before publish ids existed)."""
    if not settings.current().result_cache:
        return None
    try:
        got = con.execute(duck_sql("store.attached_path")).fetchall()
        if not got or not got[0][0]:
            return None
        publish = con.execute(duck_sql("store.attached_meta"), {"k": PUBLISH_ID_KEY}).fetchall()
    except duckdb.Error:
        return None
    if not publish or not publish[0][0]:
        return None
    return Path(got[0][0] + ".cache") / str(publish[0][0])


# The digest of one relation: the statement reads the placeholder relation `relation`, replaced by
# the registered relation's name on the syntax tree.
_DIGEST = sqlglot.parse_one(duck_sql("store.digest"), read="duckdb")


def _digest(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> dict[str, str]:
    """Content digest of each registered relation (order-independent)."""
    out = {}
    for name in names:
        digest = _DIGEST.transform(lambda n: exp.to_table(name, alias="t") if isinstance(n, exp.Table) else n)
        ((value,),) = con.execute(digest.sql(dialect="duckdb")).fetchall()
        out[name] = value
    return out


def _param(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{type(value).__name__}:{value.isoformat()}"
    return f"{type(value).__name__}:{value!r}"


def result_key(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, Any],
    depends: Iterable[str] = (),
    versions: dict[str, int] | None = None,
) -> str:
    """The file name of a result: a hash of everything it depends on besides the publish."""
    body = json.dumps(
        {
            "format": FORMAT,
            "duckdb": duckdb.__version__,
            "sql": sql,
            "params": {k: _param(v) for k, v in sorted(params.items())},
            "inputs": _digest(con, sorted(depends)),
            "versions": versions or {},
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def cached_frame(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, Any],
    *,
    depends: Iterable[str] = (),
    versions: dict[str, int] | None = None,
) -> pl.DataFrame:
    """`con.sql(sql, params).pl()`, read from the cache when this publish already ran it.

    `depends`: the registered relations (not store tables) the query reads; their content is part
    of the key. `versions`: the operational-store counters of what else it reads (appraisals of
    the year), part of the key too.
    """
    where = cache_dir(con)
    if where is None:
        return con.sql(sql, params=params).pl()
    path = where / f"{result_key(con, sql, params, depends, versions)}.parquet"
    kept = kept_frame(path)  # a torn or foreign file counts as absent: recomputed, replaced
    if kept is not None:
        return kept
    frame = con.sql(sql, params=params).pl()
    _keep(where, path, frame)
    return frame


def kept_frame(path: Path) -> pl.DataFrame | None:
    """The frame kept at `path` by `keep_frame`, or None (absent, torn or foreign)."""
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        return None
    except (OSError, pl.exceptions.PolarsError) as exc:
        log.warning("result cache: cannot read %s (%s); recomputing", path, exc)
        return None


def keep_frame(path: Path, frame: pl.DataFrame, *, replacing: str | None = None) -> None:
    """Keep `frame` at `path`, a file beside the publishes' directories (it outlives a publish),
    written atomically; then remove the files of glob `replacing` in that folder that it replaces.
    A folder that cannot be written costs only the speed."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write(path, frame)
        for old in path.parent.glob(replacing) if replacing else ():
            if old != path:
                old.unlink(missing_ok=True)  # a process about to read it reads the source instead
    except OSError as exc:
        _cannot_write(path.parent, path, exc)


T = TypeVar("T")


def shared_value(
    con: duckdb.DuckDBPyConnection,
    name: str,
    key: Mapping[str, Any],
    *,
    compute: Callable[[], T],
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
) -> T:
    """`compute()`, shared through the publish's cache directory by every process that asks for
    the same `name` and `key` (which must hold everything the value depends on besides the
    publish, e.g. the operational counters it reads). The first computes it under a lock on the
    key's file and writes `encode(value)` as JSON; the others wait for the lock and `decode` it.
    The operational counters the computation noted (queries/versions.py) are kept with it and
    noted again when it is read, so the in-memory caches above see the same dependencies."""
    where = cache_dir(con)
    if where is None:
        return compute()
    body = json.dumps({"format": FORMAT, "name": name, "key": key}, sort_keys=True, default=str)
    path = where / f"{name}-{hashlib.sha256(body.encode('utf-8')).hexdigest()}.json"
    got = _read_shared(path, decode)
    if got is not None:
        return got[0]
    try:
        _ensure(where)
        lock = open(path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held while computing
    except OSError:
        return compute()
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        got = _read_shared(path, decode)  # another process computed it while this one waited
        if got is not None:
            return got[0]
        with versions.tracking() as deps:
            value = compute()
        try:
            text = json.dumps({"deps": dict(deps), "value": encode(value)})
        except (TypeError, ValueError) as exc:  # not plain JSON: answer without sharing it
            log.warning("result cache: cannot keep %s (%s)", name, exc)
            return value
        with contextlib.suppress(OSError):
            fd, tmp = tempfile.mkstemp(dir=where, suffix=".part")  # mode 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            # Whoever waits on this lock finds the file; whoever comes later never needs the lock.
            path.with_suffix(".lock").unlink(missing_ok=True)
            _trim(where)
        return value


def _read_shared(path: Path, decode: Callable[[Any], T]) -> tuple[T] | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        value = decode(stored["value"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # torn or foreign: compute it again
        log.warning("result cache: cannot read %s (%s); recomputing", path, exc)
        return None
    versions.noted({str(k): int(v) for k, v in stored.get("deps", {}).items()})
    return (value,)


def _ensure(where: Path) -> None:
    if not where.is_dir():
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(where.parent, 0o700)
        _prune(where)


def _keep(where: Path, path: Path, frame: pl.DataFrame) -> None:
    try:
        _ensure(where)
        _write(path, frame)
        _trim(where)
    except OSError as exc:  # read-only or full disk: answer without keeping it
        _cannot_write(where, path, exc)


def _cannot_write(folder: Path, path: Path, exc: OSError) -> None:
    """Say once per process and folder that results cannot be kept there (the answers go on)."""
    if str(folder) not in _warned:
        _warned.add(str(folder))
        log.warning("result cache: cannot write %s (%s); answering without it", path, exc)


def _write(path: Path, frame: pl.DataFrame) -> None:
    """`frame` as Parquet at `path`, whole or not at all (a temporary file of mode 0600, renamed)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            frame.write_parquet(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _trim(where: Path) -> None:
    """Keep one publish's results under MAX_BYTES (a user trying many as-of dates adds a set per
    date): the oldest written go first."""
    files = []
    for f in [*where.glob("*.parquet"), *where.glob("*.json")]:
        with contextlib.suppress(OSError):
            st = f.stat()
            files.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in files)
    for _, size, f in sorted(files, key=lambda x: x[0]):
        if total <= MAX_BYTES:
            break
        with contextlib.suppress(OSError):
            f.unlink()
            total -= size


def _prune(mine: Path) -> None:
    """Remove the directories of publishes older than the store file now published (a reader still
    on an older publish may recreate its own; the next new publish removes it again)."""
    store = mine.parent.with_name(mine.parent.name.removesuffix(".cache"))
    try:
        published = store.stat().st_mtime
    except OSError:
        return
    for other in mine.parent.iterdir():
        if other == mine or not other.is_dir():
            continue
        try:
            if other.stat().st_mtime < published:
                shutil.rmtree(other, ignore_errors=True)
        except OSError:
            continue
