-- Ingest's working relations (ingest/apply.py): the staged rows of one kind (its contract columns
-- besides these), the comparison with the stored rows and the quarantine rows of a run.
-- declare: stg(_sheet VARCHAR, _row INTEGER, _rid BIGINT, office_code VARCHAR, case_no VARCHAR, inspector_id VARCHAR, draw_id VARCHAR, level VARCHAR, parent_code VARCHAR, updated_at TIMESTAMP)
-- declare: stg_src(_sheet VARCHAR, _row INTEGER, _rid BIGINT, office_code VARCHAR, case_no VARCHAR, inspector_id VARCHAR, draw_id VARCHAR, level VARCHAR, parent_code VARCHAR, updated_at TIMESTAMP)
-- declare: stg_rows(_sheet VARCHAR, _row INTEGER, _rid BIGINT, office_code VARCHAR, case_no VARCHAR, inspector_id VARCHAR, draw_id VARCHAR, level VARCHAR, parent_code VARCHAR, updated_at TIMESTAMP)
-- declare: cmp(_rid BIGINT, found BOOLEAN, same BOOLEAN, stale BOOLEAN, stored_at TIMESTAMP)
-- declare: q(run_id INTEGER, file VARCHAR)
-- declare: incoming(_sheet VARCHAR, _row VARCHAR, _rid BIGINT)

-- name: compare_counts
SELECT count(*) FILTER (WHERE NOT found),
        count(*) FILTER (WHERE found AND NOT same AND NOT stale),
        count(*) FILTER (WHERE found AND same) FROM cmp

-- name: drop_compare
DROP TABLE IF EXISTS cmp

-- name: drop_stage
DROP VIEW IF EXISTS stg

-- name: insert_quarantine
INSERT INTO quarantine BY NAME SELECT * FROM q

-- name: insert_run
INSERT INTO ingest_runs VALUES ($run, $kind, $start, $end, $ver, $files, $read, $loaded, $updated, $unchanged, $rejected, $dup, $rejects)

-- name: next_run_id
SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs

-- name: run_ids
SELECT run_id FROM ingest_runs

-- name: staged_offices
SELECT office_code, level, parent_code, _sheet, _row FROM stg

-- name: stale_rows
SELECT _sheet, _row, 'updated_at' AS column,
        strftime(s.updated_at, '%Y-%m-%d %H:%M:%S') AS value,
        '比库中版本旧（库中更新时间 ' || strftime(c.stored_at, '%Y-%m-%d %H:%M:%S') || '），未采用 / older than the '
        || 'stored version (stored updated_at ' || strftime(c.stored_at, '%Y-%m-%d %H:%M:%S') || '); not applied'
        AS reason FROM cmp c JOIN stg s USING (_rid) WHERE c.found AND NOT c.same AND c.stale

-- name: unknown_case
-- `c.office_code IN (the staged offices)` changes nothing but lets DuckDB skip the row groups of other
-- offices (the cases are stored by office): 2.5 ms instead of 8.6 for one row at 1M cases.
SELECT _sheet, _row, 'case_no' AS column, s.case_no AS value, '案件不存在：该机构没有此案号，请先导入案件 / no case ' || s.case_no || ' at office ' || s.office_code || '; ingest the case first' AS reason FROM stg s WHERE s.office_code IN (SELECT office_code FROM offices) AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.office_code IN (SELECT office_code FROM stg) AND c.office_code = s.office_code AND c.case_no = s.case_no)

-- name: unknown_draw_sample
SELECT _sheet, _row, 'draw_id' AS column, s.draw_id AS value, CASE WHEN s.draw_id NOT IN (SELECT draw_id FROM draw_samples) THEN '抽查批次不存在 / draw ' || s.draw_id || ' is unknown' ELSE '该案件未被此批次抽中 / draw ' || s.draw_id || ' did not sample case ' || s.case_no END AS reason FROM stg s WHERE s.draw_id <> '' AND NOT EXISTS (SELECT 1 FROM draw_samples d WHERE d.draw_id = s.draw_id AND d.office_code = s.office_code AND d.case_no = s.case_no)

-- name: unknown_inspector
SELECT _sheet, _row, 'inspector_id' AS column, s.inspector_id AS value, '评查人员不在名录中 / inspector ' || s.inspector_id || ' is not in the inspector roster; ingest inspectors first' AS reason FROM stg s WHERE s.inspector_id NOT IN (SELECT inspector_id FROM inspectors)

-- name: set_source
-- The digest of the file being applied, read by the staged rows' view (ingest/apply.py).
SET VARIABLE ingest_source_sha256 = $sha

-- name: set_run
-- The id of the run applying it, read by the same view.
SET VARIABLE ingest_run_id = $run

-- name: stage
-- The staged rows as a view over the registered frame `incoming`; ingest/apply.py puts the target
-- table's columns, cast to their types, in front of these.
CREATE OR REPLACE TEMP VIEW stg_src AS SELECT _sheet, CAST(_row AS INTEGER) AS _row, _rid FROM incoming

-- name: stage_view
-- The staged rows read in place (a file: copying millions of rows would cost more than reading them
-- for each check).
CREATE OR REPLACE TEMP VIEW stg AS SELECT * FROM stg_src

-- name: stage_rows
-- The staged rows of a small input (an online appraisal) cast once into a table, which the checks,
-- the comparison and the insert then read instead of casting them again each.
CREATE OR REPLACE TEMP TABLE stg_rows AS SELECT * FROM stg_src

-- name: stage_view_of_rows
CREATE OR REPLACE TEMP VIEW stg AS SELECT * FROM stg_rows

-- name: unknown_office
SELECT _sheet, _row, 'office_code' AS column, s.office_code AS value,
    '机构代码不在机构名录中，请先导入机构 / office ' || s.office_code
    || ' is not in the office roster; ingest it with `ipdash ingest offices` first' AS reason
FROM stg s WHERE s.office_code NOT IN (SELECT office_code FROM offices)

-- name: changed_rows
-- Staged rows whose key is stored with other data (ingest/apply.py selects their key instead).
SELECT s._rid FROM stg AS s JOIN cmp AS c USING (_rid) WHERE c.found AND NOT c.same AND NOT c.stale

-- name: new_or_changed
SELECT _rid FROM cmp WHERE NOT found OR (NOT same AND NOT stale)
