CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    request_id   uuid NOT NULL,
    credit_code  text NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL CHECK (size > 0 AND size <= 4194304),
    sha256       text NOT NULL,
    s3_key       text NOT NULL UNIQUE,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    -- Set by a download whose bytes no longer match sha256, and by the reconciler when the object is gone.
    integrity_failed_at timestamptz,
    object_missing_at   timestamptz
);
CREATE INDEX attachments_request ON attachments (request_id, created_at) WHERE deleted_at IS NULL;
