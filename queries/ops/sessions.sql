-- Web sessions (access/sessions.py).

-- name: insert
INSERT INTO sessions (session_hash, user_id, created_at, expires_at, address) VALUES (?, ?, ?, ?, ?)

-- name: live_user
-- The user of a session that has not ended or expired.
SELECT u.* FROM sessions s JOIN users u ON u.user_id = s.user_id
WHERE s.session_hash = ? AND s.user_id = ? AND s.ended_at IS NULL AND s.expires_at > ?

-- name: end
UPDATE sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL

-- name: purge
-- Sessions that ended or expired more than a day ago are of no further use.
DELETE FROM sessions WHERE (ended_at IS NOT NULL AND ended_at < ?) OR expires_at < ?
