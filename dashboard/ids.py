"""Component ids, in one place so that layouts, callbacks and browser tests agree."""

BANNER = "banner"
YEAR = "year"
TOTALS = "totals"
PROVINCE_TABLE = "province-table"
OFFICE = "office"
CHILDREN_TABLE = "children-table"
CHILDREN_TITLE = "children-title"
