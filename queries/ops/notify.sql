-- Subscriptions, deliveries, alert states and in-app notifications (notify/).

-- name: insert_subscription
INSERT INTO subscriptions (sub_id, username, kind, params, schedule, channel, email, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: subscription
SELECT * FROM subscriptions WHERE sub_id = ?

-- name: active_subscriptions
SELECT * FROM subscriptions WHERE removed_at IS NULL ORDER BY created_at, sub_id

-- name: remove_subscription
UPDATE subscriptions SET removed_at = ?, removed_by = ? WHERE sub_id = ? AND removed_at IS NULL

-- name: claim_slot
-- A slot is claimed once: a second scheduler's insert of the same slot does nothing.
INSERT INTO deliveries (sub_id, slot, username, state, attempts, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING

-- name: take_delivery
-- This worker sends the delivery, unless another holds an unexpired lease on it.
UPDATE deliveries SET worker = ?, lease_until = ?, updated_at = ? WHERE sub_id = ? AND slot = ? AND state IN ('pending', 'retry') AND (lease_until IS NULL OR lease_until < ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)

-- name: workable
SELECT sub_id, slot FROM deliveries WHERE state IN ('pending', 'retry') AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, sub_id, slot

-- name: delivery
SELECT * FROM deliveries WHERE sub_id = ? AND slot = ?

-- name: save_content
UPDATE deliveries SET subject = ?, body = ?, attachment = ?, updated_at = ? WHERE sub_id = ? AND slot = ? AND worker = ?

-- name: finish
UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, error = ?, lease_until = NULL, updated_at = ? WHERE sub_id = ? AND slot = ? AND worker = ?

-- name: deliveries_of
SELECT * FROM deliveries WHERE username = ? ORDER BY created_at DESC, slot DESC

-- name: all_deliveries
SELECT * FROM deliveries ORDER BY created_at, sub_id, slot

-- name: alert_states
SELECT item, state FROM alert_states WHERE sub_id = ?

-- name: insert_alert_state
INSERT INTO alert_states (sub_id, item, state, changed_at) VALUES (?, ?, ?, ?)

-- name: update_alert_state
UPDATE alert_states SET state = ?, changed_at = ? WHERE sub_id = ? AND item = ?

-- name: insert_notification
INSERT INTO notifications (notif_id, username, created_at, subject, body) VALUES (?, ?, ?, ?, ?)

-- name: notifications_of
SELECT * FROM notifications WHERE username = ? ORDER BY created_at DESC, notif_id DESC

-- name: mark_read
UPDATE notifications SET read_at = ? WHERE username = ? AND read_at IS NULL

-- name: alert_content
-- An alert's delivery is written with its content, in the transaction that records the changes.
UPDATE deliveries SET subject = ?, body = ?, updated_at = ? WHERE sub_id = ? AND slot = ?
