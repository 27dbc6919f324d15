"""The operational store: records written from the web and the command line (users, the audit log,
plans, draws and their samples, appraisals, publications, report jobs).

SQLite in WAL mode by default, beside the analytic store, so several web worker processes can
write at once (SQLite serialises writers; WAL lets readers carry on). PostgreSQL when a database
URL is configured ($IPDASH_DATABASE_URL): the same statements, written once in SQLite's dialect and
transpiled by sqlglot. The analytic DuckDB file stays read-only to the web.

Each write is one short transaction that first takes the store's write lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so a read-then-write such as the
audit chain's last hash cannot interleave with another process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

# The tables are the same on both backends but for how the user id is generated.
USERS_TABLE = """CREATE TABLE IF NOT EXISTS users (
        user_id {id},
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        scope_code TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        session_version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)"""
AUDIT_TABLE = """CREATE TABLE IF NOT EXISTS audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)"""

# The inspection workflow, report jobs and the versions the analytic side reads them by. Written in
# a dialect both backends take as they are (TEXT dates in ISO form, JSON as TEXT, decimals as TEXT).
WORKFLOW_TABLES = [
    """CREATE TABLE IF NOT EXISTS plans (
        plan_id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        locked_at TEXT, population_sha256 TEXT, population_file TEXT)""",
    """CREATE TABLE IF NOT EXISTS draws (
        draw_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, seed TEXT NOT NULL, manifest TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        voided_at TEXT, voided_by TEXT, void_reason TEXT)""",
    # The archives a draw sampled: an appraisal naming the draw may only score these.
    """CREATE TABLE IF NOT EXISTS draw_samples (
        draw_id TEXT NOT NULL, office_code TEXT NOT NULL, case_no TEXT NOT NULL,
        PRIMARY KEY (draw_id, office_code, case_no))""",
    # One row per appraised archive and draw ('' for historical appraisals made before any draw).
    # closed_year: the year the case was closed in when appraised (from the analytic store); the
    # quality figures of that year are the ones an appraisal changes (see data_versions).
    """CREATE TABLE IF NOT EXISTS appraisals (
        draw_id TEXT NOT NULL, office_code TEXT NOT NULL, case_no TEXT NOT NULL, inspector_id TEXT NOT NULL,
        scores TEXT NOT NULL, total TEXT NOT NULL, veto TEXT NOT NULL, grade TEXT NOT NULL,
        historical INTEGER NOT NULL, checklist_version TEXT NOT NULL, inspected_at TEXT NOT NULL,
        closed_year INTEGER, source_sha256 TEXT, source_row INTEGER, run_id INTEGER,
        recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL,
        PRIMARY KEY (office_code, case_no, draw_id))""",
    """CREATE TABLE IF NOT EXISTS appraisal_runs (
        run_id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, actor TEXT NOT NULL,
        contract_version TEXT NOT NULL, files TEXT NOT NULL, n_read INTEGER NOT NULL, n_loaded INTEGER NOT NULL,
        n_updated INTEGER NOT NULL, n_unchanged INTEGER NOT NULL, n_rejected INTEGER NOT NULL,
        n_duplicate_in_file INTEGER NOT NULL, rejects_file TEXT)""",
    """CREATE TABLE IF NOT EXISTS appraisal_quarantine (
        run_id INTEGER NOT NULL, file TEXT NOT NULL, file_sha256 TEXT NOT NULL, sheet TEXT,
        row_number INTEGER NOT NULL, column_name TEXT, value TEXT, reason TEXT NOT NULL, raw TEXT NOT NULL,
        cell TEXT)""",
    """CREATE TABLE IF NOT EXISTS publications (
        plan_id TEXT PRIMARY KEY, draw_id TEXT NOT NULL, published_at TEXT NOT NULL, published_by TEXT NOT NULL,
        results TEXT NOT NULL, partial_reason TEXT, withdrawn_at TEXT, withdrawn_by TEXT, withdraw_reason TEXT)""",
    # Workbook downloads from the dashboard: state shared by every worker and host; the file lies in
    # the reports directory beside the store. `heartbeat_at` shows the running worker is alive.
    """CREATE TABLE IF NOT EXISTS report_jobs (
        job_id TEXT PRIMARY KEY, username TEXT NOT NULL, year INTEGER NOT NULL, lang TEXT NOT NULL,
        scope TEXT, state TEXT NOT NULL, progress REAL NOT NULL, stage TEXT NOT NULL, file TEXT, error TEXT,
        created_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, worker TEXT)""",
    # At most one queued or running report per user, whatever worker or host started it.
    """CREATE UNIQUE INDEX IF NOT EXISTS report_jobs_one_active ON report_jobs (username)
        WHERE state IN ('queued', 'running')""",
    # Counters the analytic side keys its caches on: 'appraisals' (any change) and
    # 'appraisals:<year>' (a change to the archives of cases closed in that year).
    """CREATE TABLE IF NOT EXISTS data_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)""",
]
# Columns added to tables that older stores created without them.
ADDED_COLUMNS = {"publications": ("partial_reason", "withdrawn_at", "withdrawn_by", "withdraw_reason")}

SQLITE_SCHEMA = [
    USERS_TABLE.format(id="INTEGER PRIMARY KEY AUTOINCREMENT"),
    AUDIT_TABLE,
    # Append-only: the database itself refuses to change or remove an audit entry.
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    *WORKFLOW_TABLES,
]

POSTGRES_SCHEMA = [
    USERS_TABLE.format(id="INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    AUDIT_TABLE,
    """CREATE OR REPLACE FUNCTION ipdash_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql""",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audit_append_only') THEN
           CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log
           FOR EACH ROW EXECUTE FUNCTION ipdash_audit_append_only();
         END IF;
       END $$""",
    *WORKFLOW_TABLES,
]
WRITE_LOCK_KEY = 7_310_001  # the advisory lock that serialises writers on PostgreSQL


class OpStoreError(RuntimeError):
    """The operational store cannot be used (bad URL, missing driver, unreachable server)."""


def default_path(db: str | os.PathLike[str]) -> Path:
    """`ipdash-ops.sqlite` beside the analytic store, unless $IPDASH_OPS_DB says otherwise."""
    env = os.environ.get("IPDASH_OPS_DB")
    return Path(env) if env else Path(db).parent / "ipdash-ops.sqlite"


def _pg_node(node: exp.Expr) -> exp.Expr:
    """A `?` placeholder becomes psycopg's `%s`; a `%` inside a string literal is doubled, since
    psycopg reads `%` as the start of a placeholder."""
    if isinstance(node, exp.Placeholder) and not node.name:
        return exp.Var(this="%s")
    if isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
        return exp.Literal.string(node.this.replace("%", "%%"))
    return node


@functools.lru_cache(maxsize=512)
def to_postgres(statement: str) -> str:
    """Transpile one statement from SQLite's dialect (with `?` parameters) to PostgreSQL's (`%s`),
    on the syntax tree: a `?` or `%` inside a string literal stays what it is."""
    return sqlglot.parse_one(statement, read="sqlite").transform(_pg_node).sql(dialect="postgres")


class _PgConnection:
    """A psycopg connection that accepts the SQLite-dialect statements the store is written in."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, sql: str, params: tuple | list | dict = ()) -> Any:
        return self._con.execute(to_postgres(sql), params or ())

    def executemany(self, sql: str, rows: list | tuple) -> None:
        with self._con.cursor() as cur:
            cur.executemany(to_postgres(sql), rows)

    def close(self) -> None:
        self._con.close()


class OpStore:
    """The operational store: SQLite at `path`, or PostgreSQL when `url` (or $IPDASH_DATABASE_URL) is set.

    Args:
        path: the SQLite file (created with its schema on first use).
        url: a postgresql:// URL; overrides `path`.
    """

    def __init__(self, path: str | os.PathLike[str], *, url: str | None = None) -> None:
        self.url = url if url is not None else os.environ.get("IPDASH_DATABASE_URL") or None
        self.path = Path(path)
        self._local = threading.local()
        if self.url:
            if not self.url.startswith(("postgresql://", "postgres://")):
                raise OpStoreError("IPDASH_DATABASE_URL must be a postgresql:// URL")
            try:
                import psycopg  # noqa: F401  (only needed when PostgreSQL is configured)
            except ImportError as exc:
                raise OpStoreError(
                    "PostgreSQL is configured but psycopg is not installed: pip install 'ipdash[postgres]'"
                ) from exc
            con = self._pg_connect()
            try:
                con.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK_KEY,))
                for statement in POSTGRES_SCHEMA:
                    con.execute(statement)
                for table, columns in ADDED_COLUMNS.items():
                    for column in columns:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} TEXT")
                con.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK_KEY,))
            finally:
                con.close()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._sqlite_connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")
            for statement in SQLITE_SCHEMA:
                con.execute(statement)
            for table, columns in ADDED_COLUMNS.items():
                have = {r["name"] for r in con.execute(f"PRAGMA table_info({table})").fetchall()}
                for column in columns:
                    if column not in have:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        finally:
            con.close()

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def _sqlite_connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout=30000")
        return con

    def _pg_connect(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self.url or "", autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise OpStoreError(f"cannot reach the PostgreSQL operational store: {exc}") from exc

    def connect(self) -> Any:
        """A connection taking SQLite-dialect statements with `?` parameters, on either backend."""
        return _PgConnection(self._pg_connect()) if self.url else self._sqlite_connect()

    @contextlib.contextmanager
    def write(self) -> Iterator[Any]:
        """One write transaction, holding the store's write lock from its start; committed on success."""
        con = self.connect()
        try:
            if self.url:
                con._con.execute("BEGIN")
                con._con.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            else:
                con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def read(self, sql: str, params: tuple | dict = ()) -> list[Any]:
        """Rows of one read, on this thread's reused connection (a PostgreSQL connection costs
        milliseconds to open, and every request reads the data versions)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never a connection inherited across a fork
            local.con, local.pid = None, os.getpid()
        for attempt in (1, 2):
            if local.con is None:
                local.con = self.connect()
            try:
                return list(local.con.execute(sql, params).fetchall())
            except Exception as exc:
                with contextlib.suppress(Exception):
                    local.con.close()
                local.con = None
                if attempt == 2 or not _is_disconnect(exc):
                    raise
        raise AssertionError("unreachable")

    def versions(self) -> dict[str, int]:
        """Every data version counter (see `bump`)."""
        return {r["name"]: int(r["version"]) for r in self.read("SELECT name, version FROM data_versions")}


def bump(con: Any, name: str) -> None:
    """Increase the data version `name` by one, inside the caller's write transaction."""
    if not con.execute("UPDATE data_versions SET version = version + 1 WHERE name = ?", (name,)).rowcount:
        con.execute("INSERT INTO data_versions (name, version) VALUES (?, 1)", (name,))


def _is_disconnect(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.Error):
        return False
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
