-- Rectification notices and their steps (inspection/rectification.py).

-- name: insert
INSERT INTO rectifications (notice_id, plan_id, draw_id, office_code, findings, status, due_date, created_at, updated_at, version, due_weekdays_only) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 1, ?)

-- name: insert_event
INSERT INTO rectification_events (notice_id, seq, at, actor, action, text, attachments) VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: next_seq
SELECT coalesce(max(seq), 0) + 1 AS seq FROM rectification_events WHERE notice_id = ?

-- name: one
SELECT * FROM rectifications WHERE notice_id = ?

-- name: all
SELECT * FROM rectifications ORDER BY due_date, office_code, notice_id

-- name: events
SELECT * FROM rectification_events WHERE notice_id = ? ORDER BY seq

-- name: move
-- One transition, only from the state the actor saw: a concurrent one leaves this one no row.
UPDATE rectifications SET status = ?, updated_at = ?, version = version + 1 WHERE notice_id = ? AND status = ? AND version = ?
