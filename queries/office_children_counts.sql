-- The offices directly below $office with the case counts of their whole subtree in $year:
-- accepted in the year, closed in the year, open at the year's end. Parameters: $office, $year.
SELECT ch.office_code, ch.name, ch.level,
       count(c.case_no) FILTER (WHERE year(c.accepted_date) = $year) AS accepted,
       count(c.case_no) FILTER (WHERE year(c.closed_date) = $year) AS closed,
       count(c.case_no) FILTER (WHERE c.accepted_date <= make_date($year, 12, 31)
                                  AND (c.closed_date IS NULL OR c.closed_date > make_date($year, 12, 31))) AS open_at_year_end
FROM offices AS ch
JOIN offices AS d
  ON d.office_code = ch.office_code OR d.prefecture_code = ch.office_code OR d.province_code = ch.office_code
LEFT JOIN cases AS c ON c.office_code = d.office_code
WHERE ch.parent_code = $office
GROUP BY ch.office_code, ch.name, ch.level
ORDER BY accepted DESC, ch.office_code
