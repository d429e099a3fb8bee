"""The development runner: real PostgreSQL, NATS and S3 (embedded, containers or given URLs), every service
and the gateway as separate processes. Used by `make run` and by the test suite; never in production."""
