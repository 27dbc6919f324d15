-- Headline figures per office subtree for $year judged at $as_of (SPEC §3.4): cases accepted and
-- closed in the year, closed on time among those with a time limit, open and overdue at $as_of,
-- and archives appraised among the cases closed in the year. Reads case_facts.
-- Parameters: $year, $as_of.
SELECT f.unit AS office_code,
       count(*) FILTER (WHERE f.accepted_in_year) AS accepted,
       count(*) FILTER (WHERE f.closed_in_year) AS closed,
       count(*) FILTER (WHERE f.closed_in_year AND f.has_limit AND f.closed_date <= f.deadline) AS closed_on_time,
       count(*) FILTER (WHERE f.closed_in_year AND f.has_limit) AS closed_with_limit,
       count(*) FILTER (WHERE f.open_at_as_of) AS open_cases,
       count(*) FILTER (WHERE f.open_at_as_of AND f.has_limit AND f.deadline < f.as_of) AS overdue,
       count(*) FILTER (WHERE f.closed_in_year AND f.appraised) AS appraised
FROM case_facts AS f
GROUP BY f.unit
