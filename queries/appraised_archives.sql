-- The appraised archives of cases closed in the year, per unit whose subtree holds them (the rank
-- intervals' bootstrap draws from them; metrics/ranking.py).
SELECT unit, office_code, case_no, appraisal_total, grade
FROM case_facts
WHERE closed_in_year AND appraised
