-- Whole-process monitoring: every case open at $as_of in the subtree of $scope, with its deadline,
-- days left and a warning once 80% of its time limit is used; overdue first.
-- Reads case_facts (queries/case_facts.sql). Parameters: $year, $as_of, $scope.
SELECT f.office_code, f.case_no, f.case_kind, f.received_date, f.accepted_date, f.deadline,
       f.suspended_days, f.extension_days, f.extension_over_cap,
       date_diff('day', f.as_of, f.deadline) AS days_left,
       date_diff('day', f.accepted_date, f.as_of) AS age_days,
       CASE WHEN f.deadline IS NULL THEN NULL
            ELSE date_diff('day', f.accepted_date, f.as_of) / greatest(date_diff('day', f.accepted_date, f.deadline), 1)
       END AS limit_used,
       CASE WHEN NOT f.has_limit THEN 'no_limit'
            WHEN f.deadline < f.as_of THEN 'overdue'
            WHEN date_diff('day', f.accepted_date, f.as_of) >= 0.8 * date_diff('day', f.accepted_date, f.deadline) THEN 'warning'
            ELSE 'ok' END AS status
FROM case_facts AS f
WHERE f.open_at_as_of AND f.unit = $scope
ORDER BY CASE WHEN NOT f.has_limit THEN 3 WHEN f.deadline < f.as_of THEN 0
              WHEN date_diff('day', f.accepted_date, f.as_of) >= 0.8 * date_diff('day', f.accepted_date, f.deadline) THEN 1
              ELSE 2 END,
         f.deadline, f.office_code, f.case_no
