-- Case counts per provincial-level office (its whole subtree) for one year: accepted in the year,
-- closed in the year, and open at the year's end. Parameters: $year.
WITH per_province AS (
    SELECT o.province_code,
           count(*) FILTER (WHERE year(c.accepted_date) = $year) AS accepted,
           count(*) FILTER (WHERE year(c.closed_date) = $year) AS closed,
           count(*) FILTER (WHERE c.accepted_date <= make_date($year, 12, 31)
                              AND (c.closed_date IS NULL OR c.closed_date > make_date($year, 12, 31))) AS open_at_year_end
    FROM cases AS c
    JOIN offices AS o ON o.office_code = c.office_code
    GROUP BY o.province_code
)
SELECT p.office_code, p.name,
       (SELECT count(*) FROM offices AS s WHERE s.province_code = p.office_code) AS offices,
       coalesce(x.accepted, 0) AS accepted,
       coalesce(x.closed, 0) AS closed,
       coalesce(x.open_at_year_end, 0) AS open_at_year_end
FROM offices AS p
LEFT JOIN per_province AS x ON x.province_code = p.office_code
WHERE p.level = 'provincial'
ORDER BY accepted DESC, p.office_code
