-- Certified enforcement staff of each office's whole subtree in $year (E2's denominator).
SELECT u.unit AS office_code, sum(s.certified_staff) AS certified_staff
FROM staffing AS s
JOIN offices AS o ON o.office_code = s.office_code
CROSS JOIN UNNEST(list_distinct(  -- list_distinct also drops the NULLs
    [o.office_code, o.prefecture_code, o.province_code, (SELECT n.office_code FROM offices AS n WHERE n.level = 'national')]
)) AS u(unit)
WHERE s.year = $year
GROUP BY u.unit
