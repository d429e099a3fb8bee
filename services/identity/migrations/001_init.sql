CREATE TABLE enterprises (
    id           uuid PRIMARY KEY,
    credit_code  text NOT NULL UNIQUE CHECK (length(credit_code) = 18),
    name         text NOT NULL,
    customs_code text NOT NULL CHECK (customs_code ~ '^[0-9A-Z]{10}$'),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    username        text NOT NULL UNIQUE,
    display_name    text NOT NULL,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('ENTERPRISE', 'OFFICER')),
    enterprise_id   uuid REFERENCES enterprises (id),
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'OFFICER' OR enterprise_id IS NOT NULL)
);

CREATE TABLE captchas (
    id         uuid PRIMARY KEY,
    code_hash  bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX captchas_expiry ON captchas (expires_at);

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    user_id   uuid,
    outcome   text NOT NULL,
    client_ip text NOT NULL DEFAULT ''
);
