"""The analytic store: one DuckDB file, written only by ingest, published atomically.

Why copy-aside-and-rename: DuckDB lets one process write a file or many processes read it, never
both at once. Ingest must not stop the dashboard, and a crash mid-ingest must leave what is served
untouched (SPEC §7). So a writer takes an exclusive lock file, copies the current database to a
private temporary file, applies every change there in one transaction, checkpoints, fsyncs and
`os.replace`s it over the published path. A reader that opened the old file keeps its consistent
view (the old inode lives on until it closes); the next reader opens the new file whole. A `kill -9`
at any point leaves either the old file (the temporary copy is an orphan, removed by the next
writer) or the new one — never a mix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from queries.meta_keys import DATA_VERSION_KEY, PUBLISH_ID_KEY, SCHEMA_VERSION_KEY
from queries.statements import ANALYTIC, collection, duck_sql


class StoreError(RuntimeError):
    """A problem with the store itself (locked, unreadable, newer schema than this program)."""


def migrations() -> list[tuple[int, str]]:
    """Return the shipped migrations as (version, sql), in order.

    Migrations are files `queries/migrations/NNNN_name.sql`; their number is the schema version
    they bring the store to.
    """
    found = []
    for entry in resources.files("queries.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple]:
    """Run `sql` with bound parameters and fetch every row (DuckDB 2 wants results consumed)."""
    return con.execute(sql, params or {}).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | list[Any] | None = None) -> Any:
    """The first column of the first row of `sql`, or None."""
    got = rows(con, sql, params)
    return got[0][0] if got else None


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the macros of queries/analytic/macros.sql on `con` (temporary: read-only stores and
    stores of older schema versions have them too)."""
    for text in collection(ANALYTIC, "macros").values():
        con.execute(text)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema of `con` to the newest shipped version; return that version."""
    have_meta = scalar(con, duck_sql("store.has_meta"))
    current = 0
    if have_meta:
        value = scalar(con, duck_sql("meta.get"), {"k": SCHEMA_VERSION_KEY})
        current = int(value) if value is not None else 0
    shipped = migrations()
    newest = shipped[-1][0] if shipped else 0
    if current > newest:
        raise StoreError(
            f"the store has schema version {current}, newer than this program knows ({newest}); upgrade ipdash"
        )
    for version, sql in shipped:
        if version <= current:
            continue
        con.execute(sql)
        con.execute(duck_sql("meta.set"), {"k": SCHEMA_VERSION_KEY, "v": str(version)})
        current = version
    return current


class Store:
    """The published DuckDB file at `path`, its lock and its writers.

    Args:
        path: the published database file (SPEC §8 default `./data/ipdash.duckdb`).
        ops: the operational store whose appraisals and draw samples every reader sees
            (queries/operational.py); by default the one beside `path` (or $IPDASH_DATABASE_URL).
    """

    def __init__(self, path: str | os.PathLike[str], *, ops: Any = None, mirror_appraisals: bool = False) -> None:
        """`mirror_appraisals`: a process that reads every appraisal keeps them as Parquet beside the
        result cache for the next one to start (the workbook command and the dashboard's workers,
        which read them all; a command that only looks something up writes nothing)."""
        self.path = Path(path)
        self.mirror_appraisals = mirror_appraisals
        self._local = threading.local()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._ops = ops
        self._overlay: Any = None

    @property
    def ops(self) -> Any:
        """The operational store (opened on first use)."""
        if self._ops is None:
            from access.opstore import OpStore, default_path  # the lower layer; imported when first needed

            self._ops = OpStore(default_path(self.path))
        return self._ops

    @property
    def overlay(self) -> Any:
        if self._overlay is None:
            from queries.operational import Overlay

            self._overlay = Overlay(self.ops)
        return self._overlay

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def rejects_dir(self) -> Path:
        """Where per-run rejects files go: beside the database."""
        return self.path.parent / "rejects"

    def ensure(self) -> None:
        """Create the store with its schema when it does not exist yet."""
        if not self.path.exists():
            with self.writer():
                pass

    def reader(self, *, memory_limit: str | None = None, operational: bool = True) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the published file, consistent for as long as it is open.

        Args:
            memory_limit: cap DuckDB's own memory (e.g. "200MB"); it spills or streams beyond it.
            operational: register the operational records (appraisals, draw samples) as they are now.
        """
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}; run `ipdash demo` or `ipdash ingest` first")
        # Not duckdb.connect(path): DuckDB caches one database instance per path in a process, so
        # a second connect would reuse the instance still bound to the replaced file and never see
        # a new publish. A fresh in-memory instance that attaches the file opens what is there now.
        con = duckdb.connect(":memory:")
        if memory_limit:
            con.execute(f"SET memory_limit = {_sql_literal(memory_limit)}")
        con.execute(f"ATTACH {_sql_literal(str(self.path))} AS store (READ_ONLY)")
        con.execute("USE store")
        install_macros(con)
        if operational:
            from queries.operational import register

            register(con, self._snapshot(con))
        return con

    def thread_reader(self) -> duckdb.DuckDBPyConnection:
        """This thread's read connection to the file as published now, reused across requests.

        Opening a reader (a fresh DuckDB instance attaching the file) costs milliseconds that a
        small web query should not pay each time. The connection is kept per thread and per file
        identity (inode, modification time): an atomic publish replaces the file, so the next call
        opens the new one (and closes the old), while a connection still open keeps its consistent
        view of the old. Never close the returned connection; it belongs to the thread.
        """
        con = self._thread_connection()
        local = self._local
        snap = self._snapshot(con)  # new operational records: registered anew, same file
        if getattr(local, "snap", None) is not snap:
            from queries.operational import register

            register(con, snap)
            local.snap = snap
        return con

    def _snapshot(self, con: duckdb.DuckDBPyConnection) -> Any:
        """The operational records as of now. The appraisal mirror's folder (with `mirror_appraisals`)
        is looked up only when the overlay reads every appraisal, once per process, not per request."""
        from queries.result_cache import cache_dir

        return self.overlay.snapshot(mirror=(lambda: cache_dir(con)) if self.mirror_appraisals else None)

    def _thread_connection(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the file as published now (see `thread_reader`), with
        whatever operational records were last registered on it."""
        st = os.stat(self.path) if self.path.exists() else None
        if st is None:
            raise StoreError(f"no store at {self.path}; run `ipdash demo` or `ipdash ingest` first")
        ident = (st.st_ino, st.st_mtime_ns)
        local = self._local
        if getattr(local, "ident", None) != ident:
            old = getattr(local, "con", None)
            if old is not None:
                with contextlib.suppress(duckdb.Error):
                    old.close()
            local.con, local.ident = self.reader(operational=False), ident
            local.snap = None
            if getattr(local, "background", False):
                local.con.execute(duck_sql("store.one_thread"))
        return local.con

    def background_thread(self) -> None:
        """Mark the calling thread as doing background work (recomputing figures after an appraisal):
        its DuckDB connection runs on this thread alone, and the thread runs at a lower scheduling
        priority, so that the requests being answered meanwhile keep the cores (2 here)."""
        self._local.background = True
        with contextlib.suppress(AttributeError, OSError):  # Linux: a thread's priority is its own
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read connection of its own (its temporary tables and registrations are its own and go
        when it closes) to the file as published now, without the operational records: a cursor of
        the thread's reused connection, 1 ms to open instead of 17 for a fresh instance (an online
        appraisal is checked on one)."""
        con = self._thread_connection().cursor()
        try:
            con.execute("USE store")
            install_macros(con)
            yield con
        finally:
            with contextlib.suppress(duckdb.Error):
                con.close()

    def close_thread_reader(self) -> None:
        """Close this thread's reused connection (before a fork: a child must open its own)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.close()
        self._local.con = self._local.ident = self._local.snap = None

    def data_version(self) -> int:
        """The counter every publish increments (0 for an empty store)."""
        with contextlib.closing(self.reader()) as con:
            value = scalar(con, duck_sql("meta.get"), {"k": DATA_VERSION_KEY})
        return int(value) if value is not None else 0

    @contextlib.contextmanager
    def _lock(self, wait: float = 0.0) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        with open(self.lock_path, "a+") as fh:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise StoreError(
                            f"another ingest is writing {self.path}; wait for it to finish and try again"
                        ) from exc
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _remove_orphans(self) -> None:
        for orphan in self.path.parent.glob(self.path.name + ".tmp-*"):
            orphan.unlink(missing_ok=True)

    @contextlib.contextmanager
    def writer(self, *, wait: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a connection to a private copy; publish it atomically if the block succeeds.

        Everything done on the yielded connection is one transaction. If the block raises, the
        copy is thrown away and the published file is untouched; a failed write of the copy (a full
        disk) becomes a StoreError saying so. `wait`: seconds to wait for another writer (the web
        waits; the command line refuses at once).
        """
        with self._lock(wait):
            self._remove_orphans()
            tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
            try:
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                con = duckdb.connect(str(tmp))
            except (OSError, duckdb.Error) as exc:
                tmp.unlink(missing_ok=True)
                raise StoreError(
                    f"could not write the new version of {self.path} ({exc}); nothing was changed"
                ) from exc
            try:
                con.execute(duck_sql("store.begin"))
                migrate(con)
                install_macros(con)
                yield con
                version = scalar(con, duck_sql("meta.get"), {"k": DATA_VERSION_KEY})
                con.execute(
                    duck_sql("meta.publish"),
                    {
                        "k": DATA_VERSION_KEY,
                        "v": str(int(version or 0) + 1),
                        "t": dt.datetime.now().isoformat(timespec="seconds"),
                        "pk": PUBLISH_ID_KEY,
                        "p": uuid.uuid4().hex,  # names this publish's result cache (queries/result_cache.py)
                    },
                )
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
                con.close()
                _fsync(tmp)
                os.replace(tmp, self.path)
                _fsync_dir(self.path.parent)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    con.close()
                tmp.unlink(missing_ok=True)
                Path(str(tmp) + ".wal").unlink(missing_ok=True)
                if isinstance(exc, (OSError, duckdb.IOException)):
                    raise StoreError(
                        f"could not write the new version of {self.path} ({exc}); nothing was changed"
                    ) from exc
                raise


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
