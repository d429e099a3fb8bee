"""A customs case: the receipt of a submitted application, the officers' decisions on it, and how the case
follows the application's status as coordination-request reports it; each move says what it caused (the
decision records and events to keep with it). Standard library only."""

from __future__ import annotations

import uuid
from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from shared.workflow import OUTCOMES, TRANSITIONS, Action, NotAllowed, Outdated, Status, decision_lost, next_status

if TYPE_CHECKING:
    # The form is declared once, in the contracts (a frozen struct), as is what the registry knows of a
    # certificate; the rules here only read their fields.
    from shared.contracts.coordination import FiledForm as Form
    from shared.contracts.registry import CertificateInfo

DECISIONS = (Action.ACCEPT, Action.RETURN, Action.CONCLUDE)
# A second case for the same certificate and export declaration is refused while one of these is open.
OPEN = frozenset({Status.PENDING, Status.COORDINATING})
DUE_AFTER = timedelta(days=30)
REASON_MAX = 500
REPLY_MAX = 2000
RECEIPT = "RECEIPT"  # what awaits confirmation after a receipt; after a decision, the decision

REFUSALS: dict[Action, str] = {
    Action.ACCEPT: "仅待办状态的申请可以受理",
    Action.RETURN: "仅待办或协调中的申请可以退回",
    Action.CONCLUDE: "仅协调中的申请可以办结",
}


def certificate_problem(info: CertificateInfo | None, today: date) -> str | None:
    """What is wrong with the certificate as the registry knows it (None: it knows no such certificate)."""
    if info is None:
        return "原产地证书（声明）在海关系统中不存在"
    if info.status != "VALID":
        return "原产地证书（声明）已被撤销"
    if info.valid_until is not None and info.valid_until < today:
        return "原产地证书（声明）已过有效期"
    return None


def receipt_status(problem: str | None) -> Status:
    """Received, or refused at receipt for the problem found with the certificate or a duplicate."""
    return Status.RECEIPT_FAILED if problem else Status.PENDING


def duplicate(request_no: str) -> str:
    return f"该证书与出口报关单已有办理中的协调申请（{request_no}），请勿重复申请"


def return_errors(reason: str) -> dict[str, str]:
    if not reason or len(reason) > REASON_MAX:
        return {"reason": "请填写退回原因（1至500个字符）"}
    return {}


def conclusion_errors(outcome: str, reply: str) -> dict[str, str]:
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "请选择办结结果：协调成功、协调未果或不予受理"
    if not reply or len(reply) > REPLY_MAX:
        errors["reply"] = "请填写答复内容（1至2000个字符）"
    return errors


# --- what a move causes ---------------------------------------------------------------------------
# Events describe the case as the move left it; the store adds its ids.


@dataclass(frozen=True)
class ReceiptAccepted:
    pass


@dataclass(frozen=True)
class ReceiptRejected:
    reason: str


# A decision names its officer twice: `officer` (the display name) for the history people read,
# `officer_username` (the login name) for the audit trail.


@dataclass(frozen=True)
class CaseAccepted:
    officer: str
    _: KW_ONLY
    officer_username: str


@dataclass(frozen=True)
class CaseReturned:
    officer: str
    reason: str
    _: KW_ONLY
    officer_username: str


@dataclass(frozen=True)
class CaseConcluded:
    officer: str
    outcome: str
    reply: str
    _: KW_ONLY
    officer_username: str


Event = ReceiptAccepted | ReceiptRejected | CaseAccepted | CaseReturned | CaseConcluded


@dataclass(frozen=True)
class DecisionRecord:
    """An officer's decision as the case keeps it, whatever coordination-request then makes of it."""

    officer: str
    decision: Action
    reason: str | None = None
    outcome: str | None = None
    reply: str | None = None


@dataclass(frozen=True)
class Effects:
    """What a move caused, to be kept with the case in the same transaction."""

    decisions: tuple[DecisionRecord, ...] = ()
    events: tuple[Event, ...] = ()


NOTHING = Effects()  # a move that changes the case only


# --- the receipt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What a submitted application makes of its case: a new one, or the same one again (its decisions
    cleared) on a resubmission; received or refused, it awaits coordination-request's confirmation."""

    request_id: uuid.UUID
    form: Form
    submitted_at: datetime
    request_version: int
    problem: str | None  # why it is refused; None: received

    @classmethod
    def of(
        cls,
        request_id: uuid.UUID,
        form: Form,
        submitted_at: datetime,
        request_version: int,
        *,
        certificate_problem: str | None,
        open_case: str | None,
    ) -> tuple[Receipt, Effects]:
        """The receipt of the submission; `open_case` is the number of another application open with customs
        for the same certificate and export declaration."""
        problem = certificate_problem or (duplicate(open_case) if open_case else None)
        receipt = cls(request_id, form, submitted_at, request_version, problem)
        return receipt, Effects(events=(ReceiptRejected(problem) if problem else ReceiptAccepted(),))

    @property
    def status(self) -> Status:
        return receipt_status(self.problem)

    @property
    def due_at(self) -> datetime:
        return self.submitted_at + DUE_AFTER


# --- the case -------------------------------------------------------------------------------------


@dataclass
class Case:
    """`status` mirrors the application's (newest `request_version` wins); an officer's decision changes it at
    once, and `pending_decision` holds what awaits coordination-request's confirmation."""

    status: Status
    version: int
    request_version: int
    pending_decision: str | None
    decision_reason: str | None = None
    outcome: str | None = None
    reply: str | None = None
    note: str | None = None
    # Which application the case is, as its receipt filed it: set by the store, never changed by the rules.
    id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    form: Form | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None

    @property
    def awaiting_confirmation(self) -> bool:
        return self.pending_decision is not None

    def can(self, decision: Action) -> bool:
        return not self.awaiting_confirmation and next_status(self.status, decision) is not None

    def decide(
        self,
        decision: Action,
        officer: str,
        *,
        officer_username: str,
        version: int | None,
        reason: str | None = None,
        outcome: str | None = None,
        reply: str | None = None,
    ) -> Effects:
        """An officer's ACCEPT, RETURN (with its reason) or CONCLUDE (with outcome and reply), taken on `version`;
        `officer` is the display name, `officer_username` the login name."""
        if version is not None and version != self.version:
            raise Outdated()
        if self.awaiting_confirmation:
            raise NotAllowed("DECISION_PENDING", "上一项处理尚未生效，请稍后刷新再试")
        target = next_status(self.status, decision)
        if target is None:
            raise NotAllowed("DECISION_NOT_ALLOWED", REFUSALS[decision])
        self.status, self.pending_decision, self.note = target, decision, None
        self.decision_reason = self.decision_reason if reason is None else reason
        self.outcome = self.outcome if outcome is None else outcome
        self.reply = self.reply if reply is None else reply
        self.version += 1
        if decision is Action.ACCEPT:
            event: Event = CaseAccepted(officer, officer_username=officer_username)
        elif decision is Action.RETURN:
            event = CaseReturned(officer, reason or "", officer_username=officer_username)
        else:
            event = CaseConcluded(officer, outcome or "", reply or "", officer_username=officer_username)
        return Effects(decisions=(DecisionRecord(officer, decision, reason, outcome, reply),), events=(event,))

    def follow(self, status: Status, request_version: int) -> bool:
        """The application's status moved; False when the case already shows a newer one. A decision still
        awaiting confirmation that the move did not confirm is noted as lost."""
        if self.request_version >= request_version:
            return False
        pending = self.pending_decision
        if pending in DECISIONS and status != TRANSITIONS[Action(pending)][1]:
            self.note = decision_lost(Action(pending), status)
        self.status, self.request_version, self.pending_decision = status, request_version, None
        self.version += 1
        return True

    def decision_refused(self, status: Status, request_version: int, reason: str) -> None:
        """coordination-request refused the decision: the case shows the status that won, unless it already
        shows a newer one, and why."""
        if self.request_version <= request_version:
            self.status = status
        self.request_version = max(self.request_version, request_version)
        self.note, self.pending_decision = reason, None
        self.version += 1
