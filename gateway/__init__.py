"""The HTTP front door: session auth, the public API of SPEC §7, composition of the services."""
