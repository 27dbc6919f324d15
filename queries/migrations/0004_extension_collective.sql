-- Schema version 4: a counterfeit case's further extension decided collectively by the office's
-- heads (集体讨论延期), which the rule versions that allow it count in full (metrics/time_limits.toml).
ALTER TABLE cases ADD COLUMN extension_collective BOOLEAN NOT NULL DEFAULT false;
