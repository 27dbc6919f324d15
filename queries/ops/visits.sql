-- Return-visit plans and visits (inspection/visits.py).

-- name: insert_plan
INSERT INTO visit_plans (plan_id, spec, created_at, created_by) VALUES (?, ?, ?, ?)

-- name: plan
SELECT * FROM visit_plans WHERE plan_id = ?

-- name: plans
SELECT * FROM visit_plans ORDER BY created_at DESC, plan_id

-- name: lock
UPDATE visit_plans SET locked_at = ?, population_sha256 = ?, population_file = ?, excluded_pending = ? WHERE plan_id = ? AND locked_at IS NULL

-- name: draw
-- Only once, and only a locked plan: a second draw at the same time leaves this one no row.
UPDATE visit_plans SET seed = ?, manifest = ?, manifest_sha256 = ?, drawn_at = ?, drawn_by = ? WHERE plan_id = ? AND locked_at IS NOT NULL AND drawn_at IS NULL

-- name: insert_visit
INSERT INTO visits (plan_id, office_code, case_no, visitor_id, mediated) VALUES (?, ?, ?, ?, ?)

-- name: visit
SELECT * FROM visits WHERE plan_id = ? AND office_code = ? AND case_no = ?

-- name: all_visits
SELECT * FROM visits ORDER BY plan_id, office_code, case_no

-- name: record
-- Only a visit not yet recorded: two recorders at once never both succeed.
UPDATE visits SET reached = ?, satisfaction = ?, fulfilment = ?, complaint = ?, visited_on = ?, recorded_at = ?, recorded_by = ?, notice_id = ? WHERE plan_id = ? AND office_code = ? AND case_no = ? AND recorded_at IS NULL

-- name: notices_of
SELECT count(*) AS n FROM rectifications WHERE plan_id = ? AND office_code = ?

