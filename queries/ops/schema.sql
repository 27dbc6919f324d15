-- The operational store's tables, the same on SQLite and PostgreSQL: written in a dialect both take
-- as they are (TEXT dates in ISO form, JSON as TEXT, decimals as TEXT). The users table and the
-- audit log's append-only guard differ by backend: schema_sqlite.sql, schema_postgres.sql.

-- name: audit_log
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL)

-- name: plans
CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    locked_at TEXT, population_sha256 TEXT, population_file TEXT)

-- name: draws
CREATE TABLE IF NOT EXISTS draws (
    draw_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, seed TEXT NOT NULL, manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    voided_at TEXT, voided_by TEXT, void_reason TEXT)

-- name: draw_samples
-- The archives a draw sampled: an appraisal naming the draw may only score these.
CREATE TABLE IF NOT EXISTS draw_samples (
    draw_id TEXT NOT NULL, office_code TEXT NOT NULL, case_no TEXT NOT NULL,
    PRIMARY KEY (draw_id, office_code, case_no))

-- name: appraisals
-- One row per appraised archive and draw ('' for historical appraisals made before any draw).
-- `notes`: JSON object, checklist item -> the inspector's note on what lost its points (or null).
-- `defects`: JSON object, item scored by deduction -> the defects counted (null: no such item).
-- closed_year: the year the case was closed in when appraised (from the analytic store); the
-- quality figures of that year are the ones an appraisal changes (see docs/data-versions.md).
CREATE TABLE IF NOT EXISTS appraisals (
    draw_id TEXT NOT NULL, office_code TEXT NOT NULL, case_no TEXT NOT NULL, inspector_id TEXT NOT NULL,
    scores TEXT NOT NULL, total TEXT NOT NULL, veto TEXT NOT NULL, grade TEXT NOT NULL,
    historical INTEGER NOT NULL, checklist_version TEXT NOT NULL, inspected_at TEXT NOT NULL,
    closed_year INTEGER, source_sha256 TEXT, source_row INTEGER, run_id INTEGER,
    recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, notes TEXT, defects TEXT,
    PRIMARY KEY (office_code, case_no, draw_id))

-- name: appraisals_run
-- The rows of one ingest run, and the highest run id on record (appraisals.last_run_id) read from
-- the index instead of a scan of every appraisal (7 ms at 48,000 appraisals).
CREATE INDEX IF NOT EXISTS appraisals_run ON appraisals (run_id)

-- name: appraisal_runs
CREATE TABLE IF NOT EXISTS appraisal_runs (
    run_id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, actor TEXT NOT NULL,
    contract_version TEXT NOT NULL, files TEXT NOT NULL, n_read INTEGER NOT NULL, n_loaded INTEGER NOT NULL,
    n_updated INTEGER NOT NULL, n_unchanged INTEGER NOT NULL, n_rejected INTEGER NOT NULL,
    n_duplicate_in_file INTEGER NOT NULL, rejects_file TEXT)

-- name: appraisal_quarantine
CREATE TABLE IF NOT EXISTS appraisal_quarantine (
    run_id INTEGER NOT NULL, file TEXT NOT NULL, file_sha256 TEXT NOT NULL, sheet TEXT,
    row_number INTEGER NOT NULL, column_name TEXT, value TEXT, reason TEXT NOT NULL, raw TEXT NOT NULL,
    cell TEXT)

-- name: publications
CREATE TABLE IF NOT EXISTS publications (
    plan_id TEXT PRIMARY KEY, draw_id TEXT NOT NULL, published_at TEXT NOT NULL, published_by TEXT NOT NULL,
    results TEXT NOT NULL, partial_reason TEXT, withdrawn_at TEXT, withdrawn_by TEXT, withdraw_reason TEXT)

-- name: report_jobs
-- Workbook downloads from the dashboard: state shared by every worker and host; the file lies in
-- the reports directory beside the store. `heartbeat_at` shows the running worker is alive.
CREATE TABLE IF NOT EXISTS report_jobs (
    job_id TEXT PRIMARY KEY, username TEXT NOT NULL, year INTEGER NOT NULL, lang TEXT NOT NULL,
    scope TEXT, state TEXT NOT NULL, progress REAL NOT NULL, stage TEXT NOT NULL, file TEXT, error TEXT,
    created_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, worker TEXT)

-- name: report_jobs_one_active
-- At most one queued or running report per user, whatever worker or host started it.
CREATE UNIQUE INDEX IF NOT EXISTS report_jobs_one_active ON report_jobs (username)
    WHERE state IN ('queued', 'running')

-- name: data_versions
-- Counters the analytic side keys its caches on: 'appraisals' (any change) and
-- 'appraisals:<year>' (a change to the archives of cases closed in that year).
CREATE TABLE IF NOT EXISTS data_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)

-- name: sessions
-- Signed-in web sessions. The cookie carries a random session id; only its SHA-256 is stored, so
-- reading this table does not let anyone take over a session. Signing out ends the row at once.
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, ended_at TEXT, address TEXT)

-- name: rectifications
-- Rectification notices (整改通知), one per office with findings in a published plan. `findings`:
-- JSON list of the office's archives that were unqualified or lost points, with the items and
-- points lost. `version` grows with every transition, so two reviewers never both act on one state.
-- `due_weekdays_only`: the due date was counted Monday–Friday, the official calendar not covering it.
CREATE TABLE IF NOT EXISTS rectifications (
    notice_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, draw_id TEXT NOT NULL, office_code TEXT NOT NULL,
    findings TEXT NOT NULL, status TEXT NOT NULL, due_date TEXT NOT NULL, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, version INTEGER NOT NULL, due_weekdays_only INTEGER NOT NULL DEFAULT 0)

-- name: rectification_events
-- Every step of a notice: opened, responded (text and attachments), returned (reason), accepted.
CREATE TABLE IF NOT EXISTS rectification_events (
    notice_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    text TEXT, attachments TEXT NOT NULL, PRIMARY KEY (notice_id, seq))

-- name: supervisions
-- Cases the level above supervises (督办): one row per case, with who supervises it, until when and
-- why; `concluded_at` once the supervising office concludes it (after the case is closed).
CREATE TABLE IF NOT EXISTS supervisions (
    office_code TEXT NOT NULL, case_no TEXT NOT NULL, supervisor TEXT NOT NULL, level TEXT NOT NULL,
    due_date TEXT NOT NULL, note TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    concluded_at TEXT, concluded_by TEXT, conclusion TEXT, PRIMARY KEY (office_code, case_no))

-- name: publication_corrections
-- Corrections of a published plan's results (issue 18): each a new, dated snapshot that names the
-- one it replaces; the original publication and every earlier correction stay as they were.
CREATE TABLE IF NOT EXISTS publication_corrections (
    plan_id TEXT NOT NULL, version INTEGER NOT NULL, draw_id TEXT NOT NULL, published_at TEXT NOT NULL,
    published_by TEXT NOT NULL, results TEXT NOT NULL, reason TEXT NOT NULL, replaces TEXT NOT NULL,
    PRIMARY KEY (plan_id, version))

-- name: visit_plans
-- Return-visit plans (回访, issue 18 item 3): kept apart from inspection plans and draws, whose
-- readers expect inspector assignments. Locked like an inspection plan (population file and its
-- SHA-256), then drawn once: `manifest` is the whole draw (algorithm sha256-visit-v1).
CREATE TABLE IF NOT EXISTS visit_plans (
    plan_id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    locked_at TEXT, population_sha256 TEXT, population_file TEXT, excluded_pending INTEGER,
    seed TEXT, manifest TEXT, manifest_sha256 TEXT, drawn_at TEXT, drawn_by TEXT)

-- name: visits
-- One row per drawn case of a visit plan, with its visitor; the record once the visit is made:
-- party reached (1/0), satisfaction 1–5, for a mediated case whether the agreement was carried out
-- (yes/partly/no), a complaint, the day. `notice_id`: the rectification notice the visit opened.
CREATE TABLE IF NOT EXISTS visits (
    plan_id TEXT NOT NULL, office_code TEXT NOT NULL, case_no TEXT NOT NULL, visitor_id TEXT NOT NULL,
    mediated INTEGER NOT NULL, reached INTEGER, satisfaction INTEGER, fulfilment TEXT, complaint TEXT,
    visited_on TEXT, recorded_at TEXT, recorded_by TEXT, notice_id TEXT,
    PRIMARY KEY (plan_id, office_code, case_no))

-- name: subscriptions
-- What a user asked to receive (issue 21): `kind` digest, workbook or alert; `params` JSON (the
-- alert's rule and threshold, the workbook's report); `schedule` e.g. "mon 08:00" in Beijing time
-- (NULL for an alert: judged at every run); `channel` email, app or both; `email` the address.
CREATE TABLE IF NOT EXISTS subscriptions (
    sub_id TEXT PRIMARY KEY, username TEXT NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL,
    schedule TEXT, channel TEXT NOT NULL, email TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    removed_at TEXT, removed_by TEXT)

-- name: deliveries
-- One delivery per subscription and slot (a scheduled time, or an alert's change of state): the
-- primary key is what makes several schedulers deliver each item exactly once. `worker` and
-- `lease_until`: who is sending it now; `state` pending, retry, sent, failed or skipped.
CREATE TABLE IF NOT EXISTS deliveries (
    sub_id TEXT NOT NULL, slot TEXT NOT NULL, username TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_attempt_at TEXT, worker TEXT, lease_until TEXT, subject TEXT,
    body TEXT, attachment TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (sub_id, slot))

-- name: alert_states
-- The last known state of each thing an alert watches (an office's overdue share, a notice), so
-- that an alert fires once per change of state, not at every run.
CREATE TABLE IF NOT EXISTS alert_states (
    sub_id TEXT NOT NULL, item TEXT NOT NULL, state TEXT NOT NULL, changed_at TEXT NOT NULL,
    PRIMARY KEY (sub_id, item))

-- name: notifications
-- The in-app notification list: one row per message shown to a user in the dashboard.
CREATE TABLE IF NOT EXISTS notifications (
    notif_id TEXT PRIMARY KEY, username TEXT NOT NULL, created_at TEXT NOT NULL, subject TEXT NOT NULL,
    body TEXT NOT NULL, read_at TEXT)

-- name: manual_scores
-- The manual items of an assessment scheme (issue 19): per scheme version, year, office and item,
-- the office's self-score and the assessor's score, each with who and when, and the evidence files.
CREATE TABLE IF NOT EXISTS manual_scores (
    scheme_id TEXT NOT NULL, scheme_version TEXT NOT NULL, year INTEGER NOT NULL, office_code TEXT NOT NULL,
    item TEXT NOT NULL, self_score TEXT, self_by TEXT, self_at TEXT, assessor_score TEXT, assessor_by TEXT,
    assessor_at TEXT, evidence TEXT NOT NULL,
    PRIMARY KEY (scheme_id, scheme_version, year, office_code, item))

-- name: assessment_publications
-- A year's results published under a scheme version: the snapshot and the scheme text's SHA-256.
-- An edit of the scheme cannot change them; an edited scheme is a new version.
CREATE TABLE IF NOT EXISTS assessment_publications (
    scheme_id TEXT NOT NULL, scheme_version TEXT NOT NULL, year INTEGER NOT NULL, scheme_sha256 TEXT NOT NULL,
    results TEXT NOT NULL, published_at TEXT NOT NULL, published_by TEXT NOT NULL,
    PRIMARY KEY (scheme_id, scheme_version, year))
