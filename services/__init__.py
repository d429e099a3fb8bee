"""The services of the suite; each owns its database and talks to the others only over NATS."""
