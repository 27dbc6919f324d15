-- name: all
SELECT key, value FROM meta

-- name: data_version
SELECT value FROM meta WHERE key = 'data_version'

-- name: demo
SELECT value FROM meta WHERE key = 'demo'

-- name: get
SELECT value FROM meta WHERE key = $k

-- name: publish
INSERT OR REPLACE INTO meta VALUES ($k, $v), ('published_at', $t), ($pk, $p)

-- name: published_at
SELECT value FROM meta WHERE key = 'published_at'

-- name: set
INSERT OR REPLACE INTO meta VALUES ($k, $v)

-- name: set_demo
INSERT OR REPLACE INTO meta VALUES ('demo', $v)
