-- Macros every DuckDB connection of the store has (queries.store.install_macros).

-- name: in_subtree
-- Whether office `_office` lies in the subtree of office `_root`: the office itself and every
-- office below it, from the paths in the office tree (the national office's subtree is everything).
-- The one definition of "in the subtree": the scope rewrite, the monitoring, the plans' population,
-- the case explorer and the workbook all use it.
CREATE OR REPLACE TEMP MACRO in_subtree(_office, _root) AS _office IN (
    SELECT s.office_code FROM offices AS s
    WHERE s.office_code = _root OR s.province_code = _root OR s.prefecture_code = _root OR s.parent_code = _root
       OR _root = (SELECT n.office_code FROM offices AS n WHERE n.level = 'national')
)

-- name: given_scores
-- An appraisal's scores without the items its checklist does not have (the staged row carries a
-- column for every item of every checklist; those of other versions are empty).
CREATE OR REPLACE TEMP MACRO given_scores(_scores) AS (
    map_from_entries(list_filter(map_entries(_scores), lambda e: e.value IS NOT NULL))
)

-- name: given_notes
-- An appraisal's notes (checklist item -> the inspector's note) without the items left blank;
-- NULL when no item has one, so that a re-upload without notes compares equal to what is stored.
CREATE OR REPLACE TEMP MACRO given_notes(_notes) AS (
    CASE WHEN _notes IS NULL THEN NULL ELSE nullif(
        map_from_entries(list_filter(map_entries(_notes), lambda e: e.value IS NOT NULL AND trim(e.value) <> '')),
        MAP {}) END
)
