-- Schema version 2: the spreadsheet cell of each quarantined value (e.g. "H5"), for XLSX input.
ALTER TABLE quarantine ADD COLUMN cell VARCHAR;
