-- name: all
SELECT * FROM users ORDER BY username

-- name: by_id
SELECT * FROM users WHERE user_id = ?

-- name: by_name
SELECT * FROM users WHERE username = ?

-- name: exists
SELECT 1 FROM users WHERE username = ?

-- name: insert
INSERT INTO users (username, role, scope_code, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)

-- name: rehash
UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?

-- name: reset_password
UPDATE users SET password_hash = ?, session_version = session_version + 1, updated_at = ? WHERE username = ?

-- name: set_disabled
UPDATE users SET disabled = ?, session_version = session_version + 1, updated_at = ? WHERE username = ?

-- name: set_scope
UPDATE users SET role = ?, scope_code = ?, session_version = session_version + 1, updated_at = ? WHERE username = ?
