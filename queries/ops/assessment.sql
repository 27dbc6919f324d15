-- Manual scores and published results of assessment schemes (inspection/assessment.py).

-- name: manual_of
SELECT * FROM manual_scores WHERE scheme_id = ? AND scheme_version = ? AND year = ?

-- name: manual_one
SELECT * FROM manual_scores WHERE scheme_id = ? AND scheme_version = ? AND year = ? AND office_code = ? AND item = ?

-- name: insert_manual
INSERT INTO manual_scores (scheme_id, scheme_version, year, office_code, item, evidence) VALUES (?, ?, ?, ?, ?, '[]')

-- name: set_self
UPDATE manual_scores SET self_score = ?, self_by = ?, self_at = ?, evidence = ? WHERE scheme_id = ? AND scheme_version = ? AND year = ? AND office_code = ? AND item = ?

-- name: set_assessor
UPDATE manual_scores SET assessor_score = ?, assessor_by = ?, assessor_at = ?, evidence = ? WHERE scheme_id = ? AND scheme_version = ? AND year = ? AND office_code = ? AND item = ?

-- name: published
SELECT * FROM assessment_publications WHERE scheme_id = ? AND scheme_version = ? AND year = ?

-- name: publish
INSERT INTO assessment_publications (scheme_id, scheme_version, year, scheme_sha256, results, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?)
