-- Supervised cases (inspection/supervision.py).

-- name: insert
INSERT INTO supervisions (office_code, case_no, supervisor, level, due_date, note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)

-- name: one
SELECT * FROM supervisions WHERE office_code = ? AND case_no = ?

-- name: all
SELECT * FROM supervisions ORDER BY due_date, office_code, case_no

-- name: conclude
UPDATE supervisions SET concluded_at = ?, concluded_by = ?, conclusion = ? WHERE office_code = ? AND case_no = ? AND concluded_at IS NULL
