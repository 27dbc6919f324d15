-- CEPEJ-style figures per office subtree (SPEC §3.4): open at $as_of, closed in $year, disposition
-- time = 365 x open / closed, the age profile of open cases, and the acceptance gap, extension,
-- late-withdrawal and deadline-bunching integrity signals. Reads case_facts. Parameters: $year, $as_of.
SELECT f.unit AS office_code,
       count(*) FILTER (WHERE f.open_at_as_of) AS open_cases,
       count(*) FILTER (WHERE f.closed_in_year) AS closed_cases,
       365.0 * count(*) FILTER (WHERE f.open_at_as_of) / nullif(count(*) FILTER (WHERE f.closed_in_year), 0)
           AS disposition_days,
       count(*) FILTER (WHERE f.open_at_as_of AND date_diff('day', f.accepted_date, f.as_of) <= 30) AS age_0_30,
       count(*) FILTER (WHERE f.open_at_as_of AND date_diff('day', f.accepted_date, f.as_of) BETWEEN 31 AND 90) AS age_31_90,
       count(*) FILTER (WHERE f.open_at_as_of AND date_diff('day', f.accepted_date, f.as_of) BETWEEN 91 AND 180) AS age_91_180,
       count(*) FILTER (WHERE f.open_at_as_of AND date_diff('day', f.accepted_date, f.as_of) BETWEEN 181 AND 365) AS age_181_365,
       count(*) FILTER (WHERE f.open_at_as_of AND date_diff('day', f.accepted_date, f.as_of) > 365) AS age_over_365,
       median(date_diff('day', f.received_date, f.accepted_date)) FILTER (WHERE f.accepted_in_year) AS acceptance_gap_days,
       count(*) FILTER (WHERE f.closed_in_year AND f.extension_days > 0)
           / nullif(count(*) FILTER (WHERE f.closed_in_year AND f.has_limit), 0) AS extension_rate,
       count(*) FILTER (WHERE f.closed_in_year AND f.has_limit AND f.closing_type IN ('withdrawn', 'terminated')
                        AND date_diff('day', f.accepted_date, f.closed_date) > 0.9 * date_diff('day', f.accepted_date, f.deadline))
           / nullif(count(*) FILTER (WHERE f.closed_in_year AND f.has_limit AND f.closing_type IN ('withdrawn', 'terminated')), 0)
           AS late_withdrawal_rate,
       count(*) FILTER (WHERE f.closed_in_year AND f.has_limit AND f.closed_date <= f.deadline
                        AND f.closed_date > f.deadline - INTERVAL 5 DAY)
           / nullif(count(*) FILTER (WHERE f.closed_in_year AND f.has_limit), 0) AS deadline_bunching_rate
FROM case_facts AS f
GROUP BY f.unit
