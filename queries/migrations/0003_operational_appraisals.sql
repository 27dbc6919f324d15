-- Schema version 3. Appraisals and the samples of draws are operational records (SPEC §7): they
-- live in the operational store (SQLite or PostgreSQL), written from the web in one transaction
-- with their audit entry, and every reader of this file sees them as the relations `appraisals`
-- and `draw_samples` (queries/operational.py). The tables this file held are kept, renamed, so
-- that nothing recorded before is lost. They are not read: no production store predates this
-- change, and the demo rebuilds its own. Adopting them would be a one-off command.
ALTER TABLE appraisals RENAME TO legacy_appraisals;
ALTER TABLE draw_samples RENAME TO legacy_draw_samples;
