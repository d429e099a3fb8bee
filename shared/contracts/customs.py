"""customs-desk: the officers' side (queue, case detail and decisions)."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import Actor, Contract
from shared.contracts.coordination import FiledForm, RequestFilters
from shared.contracts.idempotency import IdempotencyKey

CASE_LIST = "svc.customs.case.list"
CASE_GET = "svc.customs.case.get"
CASE_ACCEPT = "svc.customs.case.accept"
CASE_RETURN = "svc.customs.case.return"
CASE_CONCLUDE = "svc.customs.case.conclude"


class CaseQuery(RequestFilters, kw_only=True):
    actor: Actor
    enterprise: str | None = None  # credit code, or part of the name


class Case(FiledForm, kw_only=True):
    id: str
    request_id: str
    status: str
    status_label: str
    received_at: datetime
    due_at: datetime
    version: int
    can_accept: bool
    can_return: bool
    can_conclude: bool
    # True from a receipt or an officer's decision until coordination-request confirms (or refuses) it.
    awaiting_confirmation: bool = False
    decision_reason: str | None = None
    outcome: str | None = None
    reply: str | None = None
    note: str | None = None


class CasePage(Contract):
    items: list[Case]
    total: int | None = None  # counted on the first page only (no cursor), up to 1,000
    next_cursor: str | None = None
    total_capped: bool = False  # more than `total` (1,000) match: show it as 1000+


class CaseRef(Contract):
    actor: Actor
    request_id: str


class Decision(Contract):
    actor: Actor
    request_id: str
    version: int | None = None
    reason: str = ""
    outcome: str = ""
    reply: str = ""
    idempotency: IdempotencyKey | None = None
