-- name: all
SELECT * FROM audit_log ORDER BY seq

-- name: insert
INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)

-- name: last
SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1

-- name: recent
SELECT seq, at, actor, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT ?
