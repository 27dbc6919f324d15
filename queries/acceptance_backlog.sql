-- Acceptance backlog at $as_of: cases received on or before it but accepted after it, per office
-- subtree. Parameters: $as_of.
SELECT u.unit AS office_code, count(*) AS backlog,
       max(date_diff('day', c.received_date, $as_of)) AS oldest_days
FROM cases AS c
JOIN offices AS o ON o.office_code = c.office_code
CROSS JOIN UNNEST(list_distinct(  -- list_distinct also drops the NULLs
    [o.office_code, o.prefecture_code, o.province_code, (SELECT n.office_code FROM offices AS n WHERE n.level = 'national')]
)) AS u(unit)
WHERE c.received_date <= $as_of AND c.accepted_date > $as_of
GROUP BY u.unit
