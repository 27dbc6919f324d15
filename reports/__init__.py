"""The annual assessment workbook (SPEC §6): figures in `reports.data`, Excel in `reports.workbook`."""
