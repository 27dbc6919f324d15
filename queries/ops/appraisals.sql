-- name: count
SELECT count(*) AS n FROM appraisals

-- name: delete_demo
DELETE FROM appraisals WHERE recorded_by = 'demo'

-- name: delete_one
DELETE FROM appraisals WHERE office_code = ? AND case_no = ? AND draw_id = ?

-- name: insert_run
INSERT INTO appraisal_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: of_draw
SELECT * FROM appraisals WHERE draw_id = ?

-- name: one_of_draw
-- One archive's stored appraisal in a draw (the online form's "recorded before").
SELECT * FROM appraisals WHERE draw_id = ? AND office_code = ? AND case_no = ?

-- name: stored_one
SELECT closed_year, total, inspector_id FROM appraisals WHERE office_code = ? AND case_no = ? AND draw_id = ?

-- name: totals_of_draw
SELECT office_code, case_no, total, grade FROM appraisals WHERE draw_id = ?

-- name: stored
-- The stored appraisals with the columns the analytic side reads (queries/operational.py _RAW_SCHEMA).
SELECT draw_id, office_code, case_no, inspector_id, scores, total, veto, grade, historical, checklist_version, inspected_at, closed_year, source_sha256, source_row, run_id, notes, defects
FROM appraisals

-- name: stored_after_run
SELECT draw_id, office_code, case_no, inspector_id, scores, total, veto, grade, historical, checklist_version, inspected_at, closed_year, source_sha256, source_row, run_id, notes, defects
FROM appraisals WHERE run_id > ?

-- name: stored_all
SELECT draw_id, office_code, case_no, inspector_id, scores, total, veto, grade, historical, checklist_version, inspected_at, closed_year, source_sha256, source_row, run_id, notes, defects
FROM appraisals ORDER BY office_code, case_no, draw_id

-- name: last_run_id
-- The highest run id on record, in the runs and in the rows (a new run takes the next one); each
-- inner max is read from its table's index.
SELECT coalesce(max(run_id), 0) AS n FROM (SELECT max(run_id) AS run_id FROM appraisal_runs UNION ALL SELECT max(run_id) AS run_id FROM appraisals) AS r
