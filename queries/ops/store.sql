-- declare: sqlite_master(name TEXT, type TEXT)

-- name: lock
-- PostgreSQL: the session-level advisory lock that serialises schema set-up between hosts.
SELECT pg_advisory_lock(?)

-- name: unlock
SELECT pg_advisory_unlock(?)

-- name: transaction_lock
-- PostgreSQL: the transaction-level advisory lock every write takes first (SQLite: BEGIN IMMEDIATE).
SELECT pg_advisory_xact_lock(?)

-- name: columns_sqlite
SELECT name FROM pragma_table_info(?)

-- name: columns_postgres
SELECT column_name AS name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()

-- name: tables
-- SQLite: the tables of the store (for the statement checks).
SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'

-- name: column_types
SELECT name, type FROM pragma_table_info(?)

-- name: wal
PRAGMA journal_mode=WAL

-- name: busy_timeout
PRAGMA busy_timeout=30000

-- name: begin_immediate
-- SQLite: a write transaction that takes the write lock at once.
BEGIN IMMEDIATE

-- name: begin
BEGIN

-- name: commit
COMMIT

-- name: rollback
ROLLBACK
