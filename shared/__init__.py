"""The project's shared package: settings, contracts, NATS helpers, outbox/inbox, migrations, logging, health."""
