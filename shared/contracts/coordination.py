"""coordination-request: the application aggregate, its status machine and queries."""

from __future__ import annotations

from datetime import date, datetime

from shared.contracts.common import Actor, Contract
from shared.contracts.idempotency import IdempotencyKey

CREATE = "svc.coordination.create"
UPDATE = "svc.coordination.update"
GET = "svc.coordination.get"
LIST = "svc.coordination.list"
SUBMIT = "svc.coordination.submit"
WITHDRAW = "svc.coordination.withdraw"
DELETE = "svc.coordination.delete"
ATTACHMENTS_CHANGED = "svc.coordination.attachments.changed"
ATTACHMENTS_DAMAGED = "svc.coordination.attachments.damaged"


class RequestForm(Contract):
    """What the enterprise fills in (SPEC §3), declared once: every other shape that carries the form (the gateway's
    input, the application, the submitted snapshot, the customs case) embeds it by inheritance, so the fields stay
    flat on the wire. Enterprise name/credit code and agreement code are never taken from here. A missing field is
    an empty one, so that every field error can be reported at once."""

    proof_type: str = ""
    import_country: str = ""
    import_port: str = ""
    certificate_no: str = ""
    export_declaration_no: str = ""
    import_declaration_no: str = ""
    reason: str = ""

    @classmethod
    def of(cls, source: object) -> RequestForm:
        """The form part of anything that embeds it (or of any object with its fields as attributes)."""
        return RequestForm(**{name: getattr(source, name) for name in RequestForm.__struct_fields__})


class FiledForm(RequestForm, kw_only=True):
    """The form with what the server fills in: the application's number, its enterprise and the agreement."""

    request_no: str
    credit_code: str
    enterprise_name: str
    agreement_code: str


class RequestFilters(Contract):
    """The query filters of SPEC §4, declared once: 查询 and the officers' queue embed them."""

    request_no: str | None = None
    certificate_no: str | None = None
    export_declaration_no: str | None = None
    status: str | None = None
    proof_type: str | None = None
    agreement_code: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    cursor: str | None = None
    limit: int = 20


class CreateCommand(Contract):
    actor: Actor
    form: RequestForm
    idempotency: IdempotencyKey | None = None


class UpdateCommand(Contract):
    actor: Actor
    request_id: str
    version: int
    form: RequestForm
    idempotency: IdempotencyKey | None = None


class RequestRef(Contract):
    actor: Actor
    request_id: str
    history: bool = True  # False: the application without its status history (one query fewer)


class TransitionCommand(Contract):
    actor: Actor
    request_id: str
    version: int | None = None
    # For submit: the attachment revision the caller checked; a file added or removed since then refuses it.
    attachments_revision: int | None = None
    idempotency: IdempotencyKey | None = None


class AttachmentsChanged(Contract):
    """Sent by the attachment service inside its own transaction, before it commits an added or removed file:
    refused unless the application is editable, so no file changes after submission."""

    actor: Actor
    request_id: str
    # How many of the application's files there are, and how many are flagged damaged, once this change
    # commits; None: not told.
    count: int | None = None
    damaged: int | None = None


class AttachmentsDamaged(Contract):
    """Sent by the attachment service whenever it flags a file (integrity check failed, object missing), in any
    status: how many of the application's files are damaged now. A submit is refused while any is."""

    request_id: str
    damaged: int


class AttachmentsRevision(Contract):
    attachments_revision: int


class ListQuery(RequestFilters, kw_only=True):
    actor: Actor


class HistoryEntry(Contract):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    reason: str | None = None


class CoordinationRequest(FiledForm, kw_only=True):
    id: str
    proof_type_label: str
    status: str
    status_label: str
    status_reason: str | None
    version: int
    attachments_revision: int
    attachment_count: int
    editable: bool
    deletable: bool
    withdrawable: bool
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    outcome: str | None = None
    outcome_label: str | None = None
    reply: str | None = None
    history: list[HistoryEntry] = []


class RequestPage(Contract):
    items: list[CoordinationRequest]
    total: int | None = None  # counted on the first page only (no cursor), up to 1,000
    next_cursor: str | None = None
    total_capped: bool = False  # more than `total` (1,000) match: show it as 1000+


class Deleted(Contract):
    request_id: str
