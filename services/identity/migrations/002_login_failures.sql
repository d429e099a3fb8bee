-- Failed logins are counted per submitted username, whether or not such a user exists, so that a lock looks the
-- same for every name and tells nothing about which accounts exist. The key is the SHA-256 of the normalised
-- name (NFKC, trimmed, case-folded): no submitted text is kept, even when a password was typed as a name.
-- A row counts the attempts since the last success; it expires 15 minutes after the last attempt it counted.
CREATE TABLE login_failures (
    name_key   bytea PRIMARY KEY CHECK (length(name_key) = 32),
    attempts   integer NOT NULL CHECK (attempts > 0),
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_failures_expiry ON login_failures (expires_at);

-- Accounts locked at the time of this migration stay locked (for ASCII names lower() is the same fold).
INSERT INTO login_failures (name_key, attempts, expires_at)
SELECT sha256(convert_to(lower(btrim(username)), 'UTF8')), failed_attempts, locked_until
FROM users
WHERE locked_until > now() AND failed_attempts > 0
ON CONFLICT (name_key) DO NOTHING;

-- users.failed_attempts and users.locked_until are no longer read or written; they are left in place so that an
-- identity still running the previous version keeps working during a rolling update.
