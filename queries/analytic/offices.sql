-- name: exists
SELECT 1 FROM offices WHERE office_code = $c

-- name: level
SELECT level FROM offices WHERE office_code = $c

-- name: name
SELECT name FROM offices WHERE office_code = $s

-- name: names
SELECT office_code, name FROM offices WHERE office_code IN (SELECT unnest($c))

-- name: national
SELECT office_code, name, level FROM offices WHERE level = 'national'

-- name: one
SELECT office_code, name, level FROM offices WHERE office_code = $c

-- name: paths
SELECT office_code, name, level, parent_code, province_code, prefecture_code FROM offices ORDER BY office_code

-- name: refresh_paths
UPDATE offices o SET province_code = p.province_code, prefecture_code = p.prefecture_code
FROM (
    WITH RECURSIVE walk(office_code, level, province_code, prefecture_code) AS (
        SELECT office_code, level, NULL::VARCHAR, NULL::VARCHAR FROM offices WHERE level = 'national'
        UNION ALL
        SELECT c.office_code, c.level,
               CASE WHEN c.level = 'provincial' THEN c.office_code ELSE w.province_code END,
               CASE WHEN c.level = 'prefecture' THEN c.office_code ELSE w.prefecture_code END
        FROM offices c JOIN walk w ON c.parent_code = w.office_code
    ) SELECT * FROM walk
) p WHERE o.office_code = p.office_code

-- name: tree
SELECT office_code, level, parent_code FROM offices

-- name: subtree
SELECT o.office_code FROM offices AS o WHERE in_subtree(o.office_code, $s)

-- name: national_code
SELECT office_code FROM offices WHERE level = 'national'

-- name: provinces
SELECT office_code, coalesce(province_code, office_code) AS province FROM offices

-- name: of_level
-- The offices of one level, the ones an assessment scheme scores (metrics/schemes.py).
SELECT o.office_code, o.name FROM offices AS o WHERE o.level = $level ORDER BY o.office_code
