-- The application's 协调单号, as coordination-request told it at upload: the audit trail names a file by it.
-- Files kept before it are named by the application's id.
ALTER TABLE attachments ADD COLUMN request_no text NOT NULL DEFAULT '';
