-- name: all
SELECT plan_id, spec, created_at, created_by, locked_at, population_sha256 FROM plans ORDER BY created_at DESC, plan_id

-- name: all_draws
SELECT draw_id, plan_id, seed, manifest_sha256, created_at, created_by, voided_at, voided_by, void_reason FROM draws ORDER BY draw_id

-- name: all_samples
SELECT draw_id, office_code, case_no FROM draw_samples

-- name: draw_specs
-- Each draw with its plan's specification (the checklist version its archives are scored under).
SELECT d.draw_id, p.spec FROM draws AS d JOIN plans AS p ON p.plan_id = d.plan_id

-- name: draw_spec
-- One draw's plan specification (the online form asks for the archive chosen).
SELECT p.spec FROM draws AS d JOIN plans AS p ON p.plan_id = d.plan_id WHERE d.draw_id = ?

-- name: by_id
SELECT * FROM plans WHERE plan_id = ?

-- name: draw_count
SELECT count(*) AS n FROM draws WHERE plan_id = ?

-- name: exists
SELECT 1 FROM plans WHERE plan_id = ?

-- name: insert
INSERT INTO plans (plan_id, spec, created_at, created_by) VALUES (?, ?, ?, ?)

-- name: insert_draw
INSERT INTO draws (draw_id, plan_id, seed, manifest, manifest_sha256, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: insert_sample
INSERT INTO draw_samples (draw_id, office_code, case_no) VALUES (?, ?, ?)

-- name: lock
UPDATE plans SET locked_at = ?, population_sha256 = ?, population_file = ? WHERE plan_id = ? AND locked_at IS NULL

-- name: manifest_sha256
SELECT manifest_sha256 FROM draws WHERE draw_id = ?

-- name: standing_draw
SELECT draw_id, manifest FROM draws WHERE plan_id = ? AND voided_at IS NULL

-- name: standing_draw_ids
SELECT draw_id FROM draws WHERE plan_id = ? AND voided_at IS NULL

-- name: standing_draws
SELECT plan_id, draw_id, manifest FROM draws WHERE voided_at IS NULL ORDER BY draw_id

-- name: void_draw
UPDATE draws SET voided_at = ?, voided_by = ?, void_reason = ? WHERE draw_id = ? AND voided_at IS NULL
