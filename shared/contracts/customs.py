"""customs-desk: the officers' side (queue and decisions)."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import Actor, Contract

CASE_LIST = "svc.customs.case.list"


class CaseQuery(Contract):
    actor: Actor
    status: str | None = None
    limit: int = 50


class Case(Contract):
    id: str
    request_id: str
    request_no: str
    credit_code: str
    enterprise_name: str
    proof_type: str
    certificate_no: str
    export_declaration_no: str
    status: str
    received_at: datetime
    decision_reason: str | None = None


class CaseList(Contract):
    items: list[Case]
