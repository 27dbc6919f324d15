-- Per-case facts for one assessment year, one row per case and per office whose subtree holds
-- it (`unit`: the case's own office, its prefecture, its province and the national office).
-- Cases relevant to $year: accepted in it, closed in it, or open at $as_of.
-- Needs the registered tables time_limit_rules (rule versions as date intervals) and
-- acceptance_due (received_date, n -> the n-th working day after it), built by metrics/facts.py.
-- Appraisal columns (appraised, appraisal_total, grade) are given to cases closed in $year only:
-- those are the archives the quality figures of the year read, and so an appraisal changes the
-- figures of its case's closing year alone (queries/operational.py keys caches on that).
-- Parameters: $year, $as_of.
WITH relevant AS (
    SELECT c.office_code, c.case_no, c.case_kind, c.source, c.received_date, c.accepted_date,
           c.closed_date, c.closing_type, c.suspended_days, c.extension_days, c.sectors,
           c.review_outcome, o.province_code, o.prefecture_code, c.extension_collective
    FROM cases AS c
    JOIN offices AS o ON o.office_code = c.office_code
    WHERE year(c.accepted_date) = $year
       OR year(c.closed_date) = $year
       OR (c.accepted_date <= $as_of AND (c.closed_date IS NULL OR c.closed_date > $as_of))
),
ruled AS (
    SELECT r.*, t.limit_months, t.limit_days, t.ext_months, t.ext_days, t.acceptance_working_days,
           t.rule_start,
           t.case_kind IS NOT NULL AS has_limit,
           coalesce(r.extension_collective AND t.collective_extension, false) AS extension_in_full,
           CAST(r.accepted_date + to_months(t.limit_months) + to_days(t.limit_days) AS DATE) AS d0
    FROM relevant AS r
    LEFT JOIN time_limit_rules AS t
      ON t.case_kind = r.case_kind AND r.accepted_date >= t.rule_start AND r.accepted_date < t.rule_end
),
latest_appraisal AS (
    SELECT a.office_code, a.case_no, a.total, a.grade,
           row_number() OVER (PARTITION BY a.office_code, a.case_no ORDER BY a.inspected_at DESC, a.draw_id DESC) AS k
    FROM appraisals AS a
),
facts AS (
    SELECT r.office_code, r.case_no, r.case_kind, r.source, r.received_date, r.accepted_date,
           r.closed_date, r.closing_type, r.suspended_days, r.extension_days, r.sectors,
           r.review_outcome, r.province_code, r.prefecture_code, r.has_limit, r.rule_start,
           year(r.accepted_date) = $year AS accepted_in_year,
           coalesce(year(r.closed_date) = $year, false) AS closed_in_year,
           r.accepted_date <= $as_of AND (r.closed_date IS NULL OR r.closed_date > $as_of) AS open_at_as_of,
           CAST($as_of AS DATE) AS as_of,
           date_diff('day', r.d0, CAST(r.d0 + to_months(r.ext_months) + to_days(r.ext_days) AS DATE)) AS max_extension_days,
           CAST(r.d0 + to_days(CASE WHEN r.extension_in_full THEN r.extension_days ELSE least(r.extension_days,
                date_diff('day', r.d0, CAST(r.d0 + to_months(r.ext_months) + to_days(r.ext_days) AS DATE))) END)
                + to_days(r.suspended_days) AS DATE) AS deadline,
           NOT r.extension_in_full
               AND r.extension_days > date_diff('day', r.d0, CAST(r.d0 + to_months(r.ext_months) + to_days(r.ext_days) AS DATE))
               AS extension_over_cap,
           CASE WHEN r.acceptance_working_days IS NOT NULL THEN d.due_date END AS acceptance_due,
           date_diff('day', r.accepted_date, r.closed_date) - r.suspended_days AS net_days,
           a.total IS NOT NULL AS appraised,
           CAST(a.total AS DOUBLE) AS appraisal_total,
           a.grade
    FROM ruled AS r
    LEFT JOIN acceptance_due AS d ON d.received_date = r.received_date AND d.n = r.acceptance_working_days
    LEFT JOIN latest_appraisal AS a ON a.office_code = r.office_code AND a.case_no = r.case_no AND a.k = 1
        AND year(r.closed_date) = $year
)
SELECT f.*, u.unit
FROM facts AS f
CROSS JOIN UNNEST(list_distinct(  -- list_distinct also drops the NULLs
    [f.office_code, f.prefecture_code, f.province_code, (SELECT n.office_code FROM offices AS n WHERE n.level = 'national')]
)) AS u(unit)
