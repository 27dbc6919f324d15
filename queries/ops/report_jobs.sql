-- name: active
SELECT job_id, heartbeat_at FROM report_jobs WHERE username = ? AND state IN ('queued', 'running')

-- name: by_id
SELECT * FROM report_jobs WHERE job_id = ?

-- name: fail
UPDATE report_jobs SET state = 'failed', error = ? WHERE job_id = ?

-- name: finish
UPDATE report_jobs SET state = 'done', progress = 1, stage = 'done', file = ? WHERE job_id = ? AND worker = ?

-- name: forget_failed
UPDATE report_jobs SET state = 'taken' WHERE username = ? AND state = 'failed'

-- name: insert
INSERT INTO report_jobs (job_id, username, year, lang, scope, state, progress, stage, created_at, heartbeat_at, worker) VALUES (?, ?, ?, ?, ?, 'running', 0, 'queued', ?, ?, ?)

-- name: latest_done
SELECT * FROM report_jobs WHERE username = ? AND state = 'done' ORDER BY created_at DESC LIMIT 1

-- name: latest_visible
SELECT * FROM report_jobs WHERE username = ? AND state <> 'taken' ORDER BY created_at DESC LIMIT 1

-- name: requeue
UPDATE report_jobs SET worker = ?, heartbeat_at = ?, progress = 0, stage = 'queued' WHERE job_id = ? AND heartbeat_at = ?

-- name: take
UPDATE report_jobs SET state = 'taken' WHERE job_id = ?
