"""The audit trail's contracts: officers' queries to every service, and the gateway's records of refusals."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import Actor, Contract

# Every service answers audit queries on its own subject prefix.
QUERY_SUBJECTS: dict[str, str] = {
    "identity": "svc.identity.audit.query",
    "certificate_registry": "svc.registry.audit.query",
    "coordination_request": "svc.coordination.audit.query",
    "attachment": "svc.attachment.audit.query",
    "customs_desk": "svc.customs.audit.query",
}
# The gateway has no database: identity keeps the records of refusals the gateway answered.
RECORD_REFUSAL = "svc.identity.audit.refusal"

MAX_LIMIT = 200


class AuditQuery(Contract):
    actor: Actor  # the officer asking
    by_actor: str | None = None
    enterprise: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


class AuditRecord(Contract):
    service: str
    at: datetime
    actor: str
    enterprise: str
    action: str
    target: str
    result: str
    client: str
    request_id: str


class AuditPage(Contract):
    items: list[AuditRecord]


class Refusal(Contract):
    """A request the gateway refused (401/403/404): who (a username or `anonymous`; not a signed Actor), what,
    from where."""

    who: str
    action: str
    target: str
    result: str
    enterprise: str = ""
    client: str = ""
