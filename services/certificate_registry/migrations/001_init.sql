CREATE TABLE certificates (
    proof_type         text NOT NULL CHECK (proof_type IN ('CUSTOMS_CO', 'APPROVED_EXPORTER', 'RULING_DECLARATION', 'CCPIT_CO')),
    certificate_no     text NOT NULL,
    holder_credit_code text NOT NULL,
    holder_name        text NOT NULL,
    agreement_code     text NOT NULL,
    import_country     text,
    issue_date         date,
    valid_until        date,
    status             text NOT NULL DEFAULT 'VALID' CHECK (status IN ('VALID', 'REVOKED')),
    revoked_at         timestamptz,
    revoked_reason     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proof_type, certificate_no)
);
CREATE INDEX certificates_holder ON certificates (holder_credit_code);

CREATE TABLE export_declaration_links (
    proof_type            text NOT NULL,
    certificate_no        text NOT NULL,
    export_declaration_no text NOT NULL CHECK (export_declaration_no ~ '^[0-9]{8}0[0-9]{9}$'),
    credit_code           text NOT NULL,
    source                text NOT NULL DEFAULT 'ENTERPRISE',
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proof_type, certificate_no, export_declaration_no),
    FOREIGN KEY (proof_type, certificate_no) REFERENCES certificates (proof_type, certificate_no)
);
CREATE INDEX export_declaration_links_owner ON export_declaration_links (credit_code, created_at DESC);
