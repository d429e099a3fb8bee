CREATE TABLE coordination_requests (
    id                    uuid PRIMARY KEY,
    request_no            text NOT NULL UNIQUE,
    credit_code           text NOT NULL,
    enterprise_name       text NOT NULL,
    proof_type            text NOT NULL,
    import_country        text NOT NULL,
    import_port           text NOT NULL,
    certificate_no        text NOT NULL,
    agreement_code        text NOT NULL,
    export_declaration_no text NOT NULL,
    import_declaration_no text NOT NULL,
    reason                text NOT NULL,
    status                text NOT NULL,
    status_reason         text,
    outcome               text,
    reply                 text,
    version               integer NOT NULL DEFAULT 1,
    -- Bumped whenever a file is added or removed, so a submit can tell the attachments it checked are current.
    attachments_revision  integer NOT NULL DEFAULT 0,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    submitted_at          timestamptz,
    deleted_at            timestamptz
);
-- Tenant-scoped listing, newest first (keyset pagination on created_at, id).
CREATE INDEX coordination_requests_tenant ON coordination_requests (credit_code, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE status_history (
    id          bigserial PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES coordination_requests (id),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    reason      text
);
CREATE INDEX status_history_request ON status_history (request_id, id);

-- One counter per day, incremented in a statement of its own: numbers are unique (a failed create leaves a gap).
CREATE TABLE request_number_counters (
    day  date PRIMARY KEY,
    last integer NOT NULL
);
