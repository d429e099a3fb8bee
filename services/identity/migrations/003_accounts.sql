-- Accounts (issue 9): a user can be disabled by the admin command (services/identity/admin.py). A disabled user
-- cannot log in, and session verification refuses their sessions (which the command also revokes at once).
-- password_changed_at records the last change or reset of the password.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
