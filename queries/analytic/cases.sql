-- name: count_accepted_in_year
SELECT count(*) FROM cases WHERE year(accepted_date) = $y

-- name: count_in_year
SELECT count(*) FROM cases WHERE year(accepted_date) = $y OR year(closed_date) = $y

-- name: year_span
-- Cases accepted or closed in year $y, and the first and last year any case was accepted or closed
-- (the command line names them when a year has none).
SELECT
  count(*) FILTER (WHERE year(accepted_date) = $y OR year(closed_date) = $y),
  min(year(accepted_date)),
  max(greatest(year(accepted_date), coalesce(year(closed_date), year(accepted_date))))
FROM cases

-- name: last_closed_year
SELECT max(year(closed_date)) FROM cases WHERE closed_date < make_date(year(current_date), 1, 1)

-- name: received_range
SELECT min(received_date), max(received_date) FROM cases

-- name: year_of_case
SELECT c.office_code, year(c.accepted_date) AS y FROM cases AS c WHERE c.office_code = $office AND c.case_no = $case_no

-- name: years
SELECT DISTINCT year(accepted_date) FROM cases ORDER BY 1

-- name: grid
-- The case explorer's columns (the grid's column ids are the aliases); dashboard/case_views.py
-- adds the filters, the sort and the page to this statement's syntax tree.
SELECT
    c.office_code AS office_code,
    o.name AS office_name,
    c.case_no AS case_no,
    c.case_kind AS case_kind,
    c.source AS source,
    c.received_date AS received_date,
    c.accepted_date AS accepted_date,
    c.closed_date AS closed_date,
    c.closing_type AS closing_type,
    c.review_outcome AS review_outcome
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code

-- name: active_in_year
-- The case explorer's year: cases handled at some time in $year (accepted by its end, not closed
-- before its start); dashboard/case_views.py adds this condition to the grid's statement.
SELECT 1 FROM cases AS c
WHERE c.accepted_date <= make_date($year, 12, 31) AND (c.closed_date IS NULL OR c.closed_date >= make_date($year, 1, 1))

-- name: of_year_in_subtree
-- Every case of the year (accepted or closed in it) below office $s, for the workbook's case sheet.
SELECT c.office_code, c.case_no, c.case_kind, c.received_date, c.accepted_date, c.closed_date, c.closing_type
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code
WHERE in_subtree(o.office_code, $s) AND (year(c.accepted_date) = $y OR year(c.closed_date) = $y)
ORDER BY c.office_code, c.case_no

-- name: closing_of
-- A case's office, accepted and closed dates (inspection/supervision.py reads the supervised ones).
SELECT c.office_code, c.case_no, c.accepted_date, c.closed_date FROM cases AS c WHERE c.office_code = $office AND c.case_no = $case_no

-- name: closing_of_many
-- The closing dates of several cases in one scan ($keys: 'office|case_no' texts; inspection/supervision.py).
SELECT c.office_code, c.case_no, c.closed_date FROM cases AS c WHERE list_contains($offices, c.office_code) AND list_contains($keys, c.office_code || '|' || c.case_no)

-- name: latest_in_subtree
-- Cases of the offices below an office (never its own: the level above supervises) that the demo
-- supervises: the latest accepted open ones without a legal time limit
-- (other disputes) and with one, five of each, and the latest closed at least 20 days after acceptance.
(SELECT c.office_code, c.case_no, c.accepted_date, c.closed_date, c.case_kind FROM cases AS c
 WHERE in_subtree(c.office_code, $s) AND c.office_code <> $s AND c.closed_date IS NULL AND c.case_kind = 'other_dispute'
 ORDER BY c.accepted_date DESC, c.office_code, c.case_no LIMIT 5)
UNION ALL
(SELECT c.office_code, c.case_no, c.accepted_date, c.closed_date, c.case_kind FROM cases AS c
 WHERE in_subtree(c.office_code, $s) AND c.office_code <> $s AND c.closed_date IS NULL AND c.case_kind <> 'other_dispute'
 ORDER BY c.accepted_date DESC, c.office_code, c.case_no LIMIT 5)
UNION ALL
(SELECT c.office_code, c.case_no, c.accepted_date, c.closed_date, c.case_kind FROM cases AS c
 WHERE in_subtree(c.office_code, $s) AND c.office_code <> $s AND c.closed_date >= c.accepted_date + 20
 ORDER BY c.closed_date DESC, c.office_code, c.case_no LIMIT 5)

-- name: open_handlers
-- The handlers of the cases of an office's subtree still open at a date (notify/compose.py groups
-- the digest's cases by handler).
SELECT c.office_code, c.case_no, c.handlers FROM cases AS c
WHERE in_subtree(c.office_code, $s) AND c.accepted_date <= $d AND (c.closed_date IS NULL OR c.closed_date > $d)
