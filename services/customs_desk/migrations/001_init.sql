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
    status                text NOT NULL CHECK (status IN ('PENDING', 'REJECTED', 'WITHDRAWN', 'COORDINATING', 'RETURNED', 'CONCLUDED')),
    decision_reason       text,
    received_at           timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
-- At most one open case per certificate and export declaration.
CREATE INDEX cases_open_by_certificate ON cases (proof_type, certificate_no, export_declaration_no)
    WHERE status IN ('PENDING', 'COORDINATING');
CREATE INDEX cases_queue ON cases (status, received_at);
