"""The operational store: records written from the web and the command line (users, audit log).

SQLite in WAL mode by default, beside the analytic store, so several web worker processes can
write at once (SQLite serialises writers; WAL lets readers carry on). The analytic DuckDB file
stays read-only to the web. Each write is one short transaction started with BEGIN IMMEDIATE, so
a read-then-write (the audit chain's last hash) cannot interleave with another process.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS users (
        user_id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        scope_code TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        session_version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    # Append-only: the database itself refuses to change or remove an audit entry.
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]


def default_path(db: str | os.PathLike[str]) -> Path:
    """`ipdash-ops.sqlite` beside the analytic store, unless $IPDASH_OPS_DB says otherwise."""
    env = os.environ.get("IPDASH_OPS_DB")
    return Path(env) if env else Path(db).parent / "ipdash-ops.sqlite"


class OpStore:
    """The SQLite operational store at `path` (created with its schema on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                con.execute(statement)

    def connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading (BEGIN IMMEDIATE); committed on success."""
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        con = self.connect()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
