-- Archive appraisal per office subtree for $year: appraised archives of cases closed in the year
-- by grade, their mean total, and the cases closed in the year (the population the rate projects
-- onto). Reads case_facts. Parameters: $year, $as_of.
SELECT f.unit AS office_code,
       count(*) FILTER (WHERE f.closed_in_year AND f.appraised) AS appraised,
       avg(f.appraisal_total) FILTER (WHERE f.closed_in_year AND f.appraised) AS mean_total,
       count(*) FILTER (WHERE f.closed_in_year AND f.grade = 'excellent') AS excellent,
       count(*) FILTER (WHERE f.closed_in_year AND f.grade = 'good') AS good,
       count(*) FILTER (WHERE f.closed_in_year AND f.grade = 'qualified') AS qualified,
       count(*) FILTER (WHERE f.closed_in_year AND f.grade = 'unqualified') AS unqualified,
       count(*) FILTER (WHERE f.closed_in_year) AS closed_cases
FROM case_facts AS f
GROUP BY f.unit
