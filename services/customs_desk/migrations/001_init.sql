-- A case per received application. `status` mirrors the application's status (coordination-request's
-- events, newest `request_version` wins); officers' decisions change it at once and are confirmed by events.
CREATE TABLE cases (
    id                    uuid PRIMARY KEY,
    request_id            uuid NOT NULL UNIQUE,
    request_no            text NOT NULL,
    credit_code           text NOT NULL,
    enterprise_name       text NOT NULL,
    proof_type            text NOT NULL,
    certificate_no        text NOT NULL,
    agreement_code        text NOT NULL,
    export_declaration_no text NOT NULL,
    import_declaration_no text NOT NULL,
    import_country        text NOT NULL,
    import_port           text NOT NULL,
    reason                text NOT NULL,
    status                text NOT NULL,
    decision_reason       text,
    outcome               text,
    reply                 text,
    note                  text,
    received_at           timestamptz NOT NULL DEFAULT now(),
    submitted_at          timestamptz NOT NULL,
    due_at                timestamptz NOT NULL,
    request_version       integer NOT NULL DEFAULT 0,
    version               integer NOT NULL DEFAULT 1,
    -- What awaits coordination-request's confirmation: RECEIPT, or an officer's ACCEPT/RETURN/CONCLUDE.
    -- While set, officers cannot decide again; it clears with the next status_changed or decision_refused.
    pending_decision      text
);
-- Receipt refuses a second open case for the same certificate and export declaration.
CREATE UNIQUE INDEX cases_open_by_certificate ON cases (proof_type, certificate_no, export_declaration_no)
    WHERE status IN ('PENDING', 'COORDINATING');
-- The officers' queue: oldest due first (keyset on due_at, id).
CREATE INDEX cases_due ON cases (due_at, id);

CREATE TABLE case_decisions (
    id         bigserial PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases (id),
    officer    text NOT NULL,
    decision   text NOT NULL,
    reason     text,
    outcome    text,
    reply      text,
    decided_at timestamptz NOT NULL DEFAULT now()
);
