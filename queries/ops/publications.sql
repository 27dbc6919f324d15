-- name: all
SELECT * FROM publications ORDER BY published_at DESC, plan_id

-- name: dates
SELECT plan_id, published_at FROM publications

-- name: exists
SELECT 1 FROM publications WHERE plan_id = ?

-- name: insert
INSERT INTO publications (plan_id, draw_id, published_at, published_by, results, partial_reason) VALUES (?, ?, ?, ?, ?, ?)

-- name: partial_reason
SELECT partial_reason FROM publications WHERE plan_id = ?

-- name: with_draw
SELECT p.plan_id, p.draw_id, d.manifest, l.population_file FROM publications AS p JOIN draws AS d ON d.draw_id = p.draw_id JOIN plans AS l ON l.plan_id = p.plan_id WHERE p.plan_id = ?

-- name: withdraw
UPDATE publications SET withdrawn_at = ?, withdrawn_by = ?, withdraw_reason = ? WHERE draw_id = ? AND withdrawn_at IS NULL

-- name: corrections
SELECT * FROM publication_corrections ORDER BY plan_id, version

-- name: corrections_of
SELECT * FROM publication_corrections WHERE plan_id = ? ORDER BY version

-- name: insert_correction
INSERT INTO publication_corrections (plan_id, version, draw_id, published_at, published_by, results, reason, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?)

-- name: one
SELECT * FROM publications WHERE plan_id = ?
