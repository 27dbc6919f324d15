"""Component ids, in one place so that layouts, callbacks and browser tests agree."""

BANNER = "banner"
YEAR = "year"
TOTALS = "totals"
PROVINCE_TABLE = "province-table"
