-- Idempotency-Keys: each binds one user's key for one operation to the effect it made. The row is written in the
-- transaction of the effect, with the reply a retry gets back; rows are purged after 24 hours.
CREATE TABLE idempotency_keys (
    actor_id    text        NOT NULL,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    reply       bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
