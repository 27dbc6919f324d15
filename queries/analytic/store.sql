-- declare: relation(x VARCHAR)
-- name: has_meta
SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'

-- name: all_columns
SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY table_name, ordinal_position

-- name: begin
BEGIN TRANSACTION

-- name: attached_path
-- The file of the attached store (readers attach it as `store`).
SELECT path FROM duckdb_databases() WHERE database_name = 'store'

-- name: attached_meta
SELECT value FROM store.meta WHERE key = $k

-- name: digest
-- An order-independent content digest of a registered relation (queries/result_cache.py puts its
-- name in place of `relation`).
SELECT md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR)), '')) FROM relation AS t

-- name: one_thread
-- A background thread's connection runs its queries on that thread alone (queries/store.py).
SET threads = 1
