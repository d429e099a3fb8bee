-- How many files the application has, as the attachment service told it with every added or removed file
-- (with the revision and the damaged count): a 提交 needs at least one, and no longer asks the attachment
-- service for the list.
ALTER TABLE coordination_requests ADD COLUMN attachment_count integer NOT NULL DEFAULT 0;
