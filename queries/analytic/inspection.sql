-- Working relations registered from Python: the archives a checklist lists (inspection/checklist.py)
-- and the draw samples read from the operational store (queries/operational.py, ingest/appraisals.py).
-- declare: wanted(office_code VARCHAR, case_no VARCHAR)
-- declare: _ops_draw_samples(draw_id VARCHAR, office_code VARCHAR, case_no VARCHAR)
-- declare: _stored_samples(draw_id VARCHAR, office_code VARCHAR, case_no VARCHAR)

-- name: appraisal_version
SELECT max(version) FROM appraisal_versions WHERE year = $y

-- name: archive_list
SELECT c.office_code, o.name, c.case_no, c.case_kind, c.accepted_date, c.closed_date, c.closing_type FROM cases AS c JOIN offices AS o ON o.office_code = c.office_code ORDER BY c.office_code, c.case_no

-- name: delete_synthetic_appraisals
DELETE FROM appraisals WHERE source_sha256 LIKE $s

-- name: inspector_exists
SELECT count(*) FROM inspectors WHERE inspector_id = $i

-- name: inspector_pool
SELECT inspector_id, office_code FROM inspectors WHERE active AND certified ORDER BY 1

-- name: wanted_archives
SELECT w.office_code, o.name, w.case_no, c.case_kind FROM wanted AS w
            JOIN offices AS o ON o.office_code = w.office_code
            JOIN cases AS c ON c.office_code = w.office_code AND c.case_no = w.case_no
            ORDER BY w.office_code, w.case_no

-- name: population
-- The cases closed in the plan's year below its scope; inspection/plans.py adds the stratum. With
-- $exclude_pending, archives whose reconsideration or litigation is still pending are left out
-- (the archive-appraisal measures do not appraise them; SPEC §4.3).
SELECT c.office_code, c.case_no
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code
WHERE year(c.closed_date) = $y AND in_subtree(o.office_code, $s)
  AND NOT ($exclude_pending AND c.review_outcome = 'pending')

-- name: population_pending
-- How many archives the population left out as pending review (the lock reports it).
SELECT count(*)
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code
WHERE year(c.closed_date) = $y AND in_subtree(o.office_code, $s) AND c.review_outcome = 'pending'

-- name: draw_samples_view
-- The operational store's draw samples as the analytic side reads them (queries/operational.py).
CREATE OR REPLACE TEMP VIEW draw_samples AS SELECT draw_id, office_code, case_no FROM _ops_draw_samples

-- name: draw_samples_table
-- The draw samples an appraisal ingest checks against (ingest/appraisals.py).
CREATE OR REPLACE TEMP TABLE draw_samples AS SELECT draw_id, office_code, case_no FROM _stored_samples

-- name: appraisals_of_run
-- The appraisals one ingest run loaded or changed, as the operational store keeps them (text
-- values), with the year their case was closed in.
SELECT a.draw_id, a.office_code, a.case_no, a.inspector_id,
    CAST(to_json(a.scores) AS VARCHAR) AS scores, CAST(a.total AS VARCHAR) AS total,
    CAST(to_json(a.veto) AS VARCHAR) AS veto, a.grade, CAST(a.historical AS INTEGER) AS historical,
    a.checklist_version, strftime(a.inspected_at, '%Y-%m-%d') AS inspected_at,
    year(c.closed_date) AS closed_year, a.source_sha256, a.source_row, a.run_id,
    CAST(to_json(given_notes(a.notes)) AS VARCHAR) AS notes, CAST(to_json(a.defects) AS VARCHAR) AS defects
FROM appraisals AS a
LEFT JOIN (
    -- the cases of the run's offices only: DuckDB then skips the row groups of every other office
    -- (the cases are stored by office), as the unknown-case check does
    SELECT x.office_code, x.case_no, x.closed_date FROM cases AS x
    WHERE x.office_code IN (SELECT r.office_code FROM appraisals AS r WHERE r.run_id = $run)
) AS c ON c.office_code = a.office_code AND c.case_no = a.case_no
WHERE a.run_id = $run

-- name: visitor_pool
-- Who may make a return visit: the active, certified inspectors of the plan's scope (a province
-- visits its own offices' parties), with their names (a case's handlers may be recorded by id or
-- by name).
SELECT i.inspector_id, i.office_code, i.name FROM inspectors AS i
WHERE i.active AND i.certified AND in_subtree(i.office_code, $s) ORDER BY 1

-- name: visit_cases
-- The handlers and closing type of the cases closed in a visit plan's year below its scope.
SELECT c.office_code, c.case_no, c.handlers, c.closing_type
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code
WHERE year(c.closed_date) = $y AND in_subtree(o.office_code, $s)
