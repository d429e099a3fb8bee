"""Domain events published through each service's outbox to the JetStream stream EVENTS.

Naming: `<context>.<aggregate>.<past-verb>.v<N>`; the NATS subject is `events.` + that name.
Within a version only add fields with defaults; consumers ignore fields they do not know.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

import msgspec

from shared.contracts.coordination import FiledForm

STREAM = "EVENTS"
STREAM_MAX_AGE_SECONDS = 90 * 24 * 3600
SUBJECT_PREFIX = "events."


class Event(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of every event. `event_id` is the outbox row id and the JetStream Nats-Msg-Id."""

    name: ClassVar[str]
    event_id: str
    occurred_at: datetime

    @classmethod
    def subject(cls) -> str:
        return SUBJECT_PREFIX + cls.name


class RequestFormSnapshot(FiledForm, frozen=True, kw_only=True):
    """The application as submitted, so subscribers need not call back."""


class RequestCreated(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "coordination.request.created.v1"
    request_id: str
    request_no: str
    credit_code: str
    proof_type: str


class RequestUpdated(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "coordination.request.updated.v1"
    request_id: str
    credit_code: str
    version: int


class RequestSubmitted(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "coordination.request.submitted.v1"
    request_id: str
    version: int
    submitted_at: datetime
    form: RequestFormSnapshot


class RequestWithdrawn(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "coordination.request.withdrawn.v1"
    request_id: str
    credit_code: str


class RequestDeleted(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "coordination.request.deleted.v1"
    request_id: str
    credit_code: str


class RequestStatusChanged(Event, frozen=True, kw_only=True):
    """Every status move, for subscribers that only follow the status (audit, notifications)."""

    name: ClassVar[str] = "coordination.request.status_changed.v1"
    request_id: str
    credit_code: str
    from_status: str | None
    to_status: str
    reason: str | None = None
    version: int = 0


class ReceiptAccepted(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "customs.receipt.accepted.v1"
    request_id: str
    case_id: str


class ReceiptRejected(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "customs.receipt.rejected.v1"
    request_id: str
    reason: str


class DecisionRefused(Event, frozen=True, kw_only=True):
    """An officer's decision that arrived when the application had already moved on (e.g. it was withdrawn)."""

    name: ClassVar[str] = "coordination.request.decision_refused.v1"
    request_id: str
    decision: str
    status: str
    version: int
    reason: str


class CaseAccepted(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "customs.case.accepted.v1"
    request_id: str
    case_id: str
    officer: str
    officer_username: str = ""  # the officer's login name, for the audit trail; "" from an older customs-desk
    request_version: int = 0  # the application version the officer decided on; 0 = not checked


class CaseReturned(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "customs.case.returned.v1"
    request_id: str
    case_id: str
    officer: str
    officer_username: str = ""  # the officer's login name, for the audit trail; "" from an older customs-desk
    request_version: int = 0  # the application version the officer decided on; 0 = not checked
    reason: str


class CaseConcluded(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "customs.case.concluded.v1"
    request_id: str
    case_id: str
    officer: str
    officer_username: str = ""  # the officer's login name, for the audit trail; "" from an older customs-desk
    request_version: int = 0  # the application version the officer decided on; 0 = not checked
    outcome: str
    reply: str


class CertificateIssued(Event, frozen=True, kw_only=True):
    """From an issuing system (customs origin system, CCPIT): a proof of origin now exists."""

    name: ClassVar[str] = "origin.certificate.issued.v1"
    proof_type: str
    certificate_no: str
    holder_credit_code: str
    holder_name: str
    agreement_code: str
    import_country: str
    issue_date: date
    valid_until: date | None = None


class CertificateRevoked(Event, frozen=True, kw_only=True):
    """From an issuing system: the proof of origin is no longer valid."""

    name: ClassVar[str] = "origin.certificate.revoked.v1"
    proof_type: str
    certificate_no: str
    reason: str = ""


class DeclarationLinkReported(Event, frozen=True, kw_only=True):
    """From the customs declaration system: an export declaration was filed against a certificate."""

    name: ClassVar[str] = "declaration.export_declaration.linked.v1"
    proof_type: str
    certificate_no: str
    export_declaration_no: str
    credit_code: str


class ExportDeclarationLinked(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "registry.export_declaration.linked.v1"
    proof_type: str
    certificate_no: str
    export_declaration_no: str
    credit_code: str


class AttachmentAdded(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "attachment.file.added.v1"
    attachment_id: str
    request_id: str
    credit_code: str
    filename: str
    size: int
    sha256: str


class AttachmentRemoved(Event, frozen=True, kw_only=True):
    name: ClassVar[str] = "attachment.file.removed.v1"
    attachment_id: str
    request_id: str
    credit_code: str


class SessionsEnded(Event, frozen=True, kw_only=True):
    """A user's sessions ended (logout, password change or reset, account disabled): whoever caches verified
    sessions drops that user's at once."""

    name: ClassVar[str] = "identity.sessions.ended.v1"
    user_id: str
    reason: str  # LOGOUT, PASSWORD_CHANGED, PASSWORD_RESET, USER_DISABLED, CARD_REVOKED


ALL_EVENTS: tuple[type[Event], ...] = (
    RequestCreated,
    RequestUpdated,
    RequestSubmitted,
    RequestWithdrawn,
    RequestDeleted,
    RequestStatusChanged,
    DecisionRefused,
    ReceiptAccepted,
    CaseAccepted,
    CaseReturned,
    CaseConcluded,
    ReceiptRejected,
    CertificateIssued,
    CertificateRevoked,
    DeclarationLinkReported,
    ExportDeclarationLinked,
    AttachmentAdded,
    AttachmentRemoved,
    SessionsEnded,
)
