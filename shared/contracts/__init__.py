"""Contracts between services: request/reply payloads, subjects and events (msgspec Structs)."""
