-- Card-medium login (卡介质登录, SPEC §1 and §7): each card's registered SM2 public key, bound to one user, and
-- the single-use challenges (server nonces) a card signs to log in.
CREATE TABLE cards (
    card_no    text PRIMARY KEY CHECK (card_no ~ '^[0-9A-Za-z-]{4,32}$'),
    user_id    uuid NOT NULL REFERENCES users (id),
    public_key bytea NOT NULL CHECK (length(public_key) = 65 AND get_byte(public_key, 0) = 4),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX cards_user ON cards (user_id);

-- A challenge is for one card, spent by the first login try that names it (right or wrong), and expires after
-- two minutes. The nonce is not a secret (the client gets it to sign); it is kept as issued.
CREATE TABLE card_challenges (
    id         uuid PRIMARY KEY,
    card_no    text NOT NULL,
    nonce      bytea NOT NULL CHECK (length(nonce) >= 16),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX card_challenges_expiry ON card_challenges (expires_at);
