-- The counters the analytic side keys its caches on (docs/data-versions.md).

-- name: all
SELECT name, version FROM data_versions

-- name: bump
UPDATE data_versions SET version = version + 1 WHERE name = ?

-- name: insert
INSERT INTO data_versions (name, version) VALUES (?, 1)
