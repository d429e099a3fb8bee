-- How many of the application's files the attachment service has flagged damaged (integrity check failed,
-- object missing); told with every file change and every flag. A submit is refused while it is above zero.
ALTER TABLE coordination_requests ADD COLUMN damaged_attachments integer NOT NULL DEFAULT 0;
