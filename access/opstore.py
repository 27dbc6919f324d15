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

from core import settings
from queries import versions
from queries.statements import OPS, collection, op_sql

# The schema: queries/ops/schema.sql (both backends) and the users table and append-only guard of
# each backend (schema_sqlite.sql, schema_postgres.sql).
_COMMON = list(collection(OPS, "schema").values())
# Columns added to tables that older stores created without them.
ADDED_COLUMNS = {
    "publications": ("partial_reason", "withdrawn_at", "withdrawn_by", "withdraw_reason"),
    "appraisals": ("notes", "defects"),
}
SQLITE_SCHEMA = [
    op_sql("schema_sqlite.users"),
    *_COMMON,
    op_sql("schema_sqlite.audit_no_update"),
    op_sql("schema_sqlite.audit_no_delete"),
]
POSTGRES_SCHEMA = [
    op_sql("schema_postgres.users"),
    *_COMMON,
    op_sql("schema_postgres.audit_append_only_function"),
    op_sql("schema_postgres.audit_append_only_trigger"),
]
WRITE_LOCK_KEY = 7_310_001  # the advisory lock that serialises writers on PostgreSQL


class OpStoreError(RuntimeError):
    """The operational store cannot be used (bad URL, missing driver, unreachable server)."""


def default_path(db: str | os.PathLike[str]) -> Path:
    """`ipdash-ops.sqlite` beside the analytic store, unless $IPDASH_OPS_DB says otherwise."""
    given = settings.current().ops_db
    return given if given else Path(db).parent / "ipdash-ops.sqlite"


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
        self.url = url if url is not None else settings.current().database_url
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
            pg = _PgConnection(self._pg_connect())
            try:
                pg.execute(op_sql("store.lock"), (WRITE_LOCK_KEY,))
                for statement in POSTGRES_SCHEMA:  # PostgreSQL's own DDL: run as written, not transpiled
                    pg._con.execute(statement)
                _add_columns(pg, op_sql("store.columns_postgres"))
                pg.execute(op_sql("store.unlock"), (WRITE_LOCK_KEY,))
            finally:
                pg.close()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._sqlite_connect()
        try:
            con.execute(op_sql("store.wal"))
            for statement in SQLITE_SCHEMA:
                con.execute(statement)
            _add_columns(con, op_sql("store.columns_sqlite"))
        finally:
            con.close()

    @property
    def identity(self) -> str:
        """What tells this operational store from another (the key of what is kept from it): its
        URL, or its SQLite file with the file's inode (a store deleted and made anew is another)."""
        if self.url:
            return self.url
        st = os.stat(self.path)
        return f"{self.path.resolve()}:{st.st_dev}:{st.st_ino}"

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def _sqlite_connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute(op_sql("store.busy_timeout"))
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
                con._con.execute(op_sql("store.begin"))
                con.execute(op_sql("store.transaction_lock"), (WRITE_LOCK_KEY,))
            else:
                con.execute(op_sql("store.begin_immediate"))
            yield con
            con.execute(op_sql("store.commit"))
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute(op_sql("store.rollback"))
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

    def batches(self, sql: str, params: tuple | dict = (), size: int = 50_000) -> Iterator[list[Any]]:
        """The rows of one long read in lists of at most `size`, on a connection of its own (so that
        a caller holds one list of rows at a time, not every row of a large table)."""
        con = self.connect()
        try:
            cursor = con.execute(sql, params)
            while True:
                got = cursor.fetchmany(size)
                if not got:
                    return
                yield list(got)
        finally:
            con.close()

    def versions(self) -> dict[str, int]:
        """Every data version counter (see `bump`)."""
        return {r["name"]: int(r["version"]) for r in self.read(op_sql("versions.all"))}

    def note(self, *names: str) -> None:
        """Note counters `names` as they are now as dependencies of what is being computed
        (queries/versions.py), before the records they guard are read: a write after this read
        moves the counter, so a cached result never outlives the records it was built from."""
        now = self.versions()
        for name in names:
            versions.note(name, now.get(name, 0))


# The counters of the follow-up records, each raised in the transaction that changes its table:
# the pages and panels built from them are cached until one of them moves.
RECTIFICATIONS, SUPERVISIONS, VISITS = "rectifications", "supervisions", "visits"


def bump(con: Any, name: str) -> None:
    """Increase the data version `name` by one, inside the caller's write transaction."""
    if not con.execute(op_sql("versions.bump"), (name,)).rowcount:
        con.execute(op_sql("versions.insert"), (name,))


def _add_columns(con: Any, existing: str) -> None:
    """Add the columns of ADDED_COLUMNS that an older store lacks (`existing` lists a table's columns)."""
    for table, columns in ADDED_COLUMNS.items():
        have = {r["name"] for r in con.execute(existing, (table,)).fetchall()}
        for column in columns:
            if column not in have:
                action = exp.ColumnDef(this=exp.to_identifier(column), kind=exp.DataType.build("TEXT"))
                alter = exp.Alter(this=exp.to_table(table), kind="TABLE", actions=[action])
                con.execute(alter.sql(dialect="sqlite"))


def _is_disconnect(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.Error):
        return False
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
