-- The draw's working relations, registered by inspection/draw.py on an in-memory connection.
-- declare: pop(row BIGINT, stratum VARCHAR, office_code VARCHAR, case_no VARCHAR)
-- declare: pool(id VARCHAR, home VARCHAR, province VARCHAR)
-- declare: inspectors(id VARCHAR, home VARCHAR, province VARCHAR)
-- declare: offices(office VARCHAR, prefix VARCHAR, province VARCHAR)

-- name: candidates
SELECT o.office, min_by(p.id, sha256(o.prefix || p.id), $top)
FROM offices AS o CROSS JOIN pool AS p
WHERE NOT ($own_office AND p.home = o.office)
  AND NOT ($own_province AND p.province = o.province)
GROUP BY o.office

-- name: sample
SELECT stratum, min_by(row, sha256($p || office_code || '|' || case_no), $n)
FROM pop GROUP BY stratum

-- name: pool
-- The inspector pool with each inspector's province (from the office tree, recorded in the manifest).
CREATE TABLE pool AS SELECT id, home, province FROM inspectors
