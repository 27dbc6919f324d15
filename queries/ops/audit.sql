-- name: all
SELECT * FROM audit_log ORDER BY seq

-- name: insert
INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)

-- name: recent
SELECT seq, at, actor, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT ?

-- name: head
SELECT seq, hash, at FROM audit_log ORDER BY seq DESC LIMIT 1
