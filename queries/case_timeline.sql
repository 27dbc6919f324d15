-- One case's facts for its timeline: deadline after suspensions and extension, acceptance due date
-- and the status at $as_of. Reads case_facts. Parameters: $year, $as_of, $office, $case_no.
SELECT f.office_code, f.case_no, f.case_kind, f.source, f.received_date, f.accepted_date, f.closed_date,
       f.closing_type, f.suspended_days, f.extension_days, f.extension_over_cap, f.review_outcome,
       f.has_limit, f.deadline, f.acceptance_due, f.appraised, f.appraisal_total, f.grade,
       CASE WHEN NOT f.has_limit THEN 'no_limit'
            WHEN f.closed_date IS NOT NULL AND f.closed_date <= f.as_of THEN
                 CASE WHEN f.closed_date <= f.deadline THEN 'closed_on_time' ELSE 'closed_late' END
            WHEN f.deadline < f.as_of THEN 'overdue'
            WHEN date_diff('day', f.accepted_date, f.as_of) >= 0.8 * date_diff('day', f.accepted_date, f.deadline) THEN 'warning'
            ELSE 'ok' END AS status
FROM case_facts AS f
WHERE f.office_code = $office AND f.case_no = $case_no AND f.unit = f.office_code
