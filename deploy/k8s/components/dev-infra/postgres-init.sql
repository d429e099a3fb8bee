-- Copy of deploy/compose/postgres-init.sql (kustomize cannot load files outside this directory).
-- Runs once, on first start of an empty data volume (docker-entrypoint-initdb.d),
-- as POSTGRES_USER. Each service owns its own database and runs its own
-- migrations at start-up; the databases only have to exist.
CREATE DATABASE identity;
CREATE DATABASE certificate_registry;
CREATE DATABASE coordination_request;
CREATE DATABASE attachment;
CREATE DATABASE customs_desk;
