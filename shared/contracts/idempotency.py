"""Idempotency-Keys as commands carry them to the service that makes the effect, and the replay query."""

from __future__ import annotations

from shared.contracts.common import Actor, Contract

# Every service answers "what did this key's first try reply?" on its own subject prefix.
REPLAY_SUBJECTS: dict[str, str] = {
    "identity": "svc.identity.idempotency.replay",
    "certificate_registry": "svc.registry.idempotency.replay",
    "coordination_request": "svc.coordination.idempotency.replay",
    "attachment": "svc.attachment.idempotency.replay",
    "customs_desk": "svc.customs.idempotency.replay",
}


class IdempotencyKey(Contract):
    """A client's Idempotency-Key, bound to one operation: the service keeps it per acting user, in the
    transaction of the effect, with its reply."""

    key: str  # SHA-256 of the operation (method and path) and the client's key
    fingerprint: str  # SHA-256 of what the request asked: the same key with another request is refused


class ReplayQuery(Contract):
    actor: Actor
    idempotency: IdempotencyKey
