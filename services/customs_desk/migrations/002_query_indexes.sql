-- The officers' queue filtered by status (the common filter) keeps its oldest-due-first order from an index;
-- certificate and declaration numbers and the enterprise's credit code are exact matches.
CREATE INDEX cases_status_due ON cases (status, due_at, id);
CREATE INDEX cases_certificate ON cases (certificate_no);
CREATE INDEX cases_declaration ON cases (export_declaration_no);
CREATE INDEX cases_credit_code ON cases (credit_code, due_at, id);
