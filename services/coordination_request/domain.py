"""The coordination application: its form rules, and one method per move that enforces the workflow and says
what the move caused (history entries and events). Standard library only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from shared.formats import EXPORT_DECLARATION_NO_RULE, PROOF_KINDS, is_export_declaration_no
from shared.workflow import (
    DELETABLE,
    EDITABLE,
    WITHDRAWABLE,
    Action,
    Incomplete,
    NotAllowed,
    Outdated,
    Status,
    decision_lost,
    next_status,
)

if TYPE_CHECKING:
    # The form is declared once, in the contracts (a frozen struct); the rules here only read its fields.
    from shared.contracts.coordination import RequestForm as Form


@dataclass(frozen=True)
class Who:
    """Who made a move: the name the status history shows people, and the login name the audit trail records."""

    name: str
    login: str


# The receipt is customs' own move, made by no officer: the history and the audit trail both name 海关, which no
# login name can be (they are ASCII), so a filter by actor never mixes it with a user's records.
CUSTOMS = Who(name="海关", login="海关")

REFUSALS: dict[Action, str] = {
    Action.SAVE: "当前状态不允许修改",
    Action.SUBMIT: "当前状态不允许提交",
    Action.WITHDRAW: "仅待办状态的申请可以撤回",
}


def request_no(day: date, sequence: int) -> str:
    """The application's number: XT, the China day it was created, and its place in that day."""
    return f"XT{day:%Y%m%d}{sequence:06d}"


# --- the form -------------------------------------------------------------------------------------

REASON_MAX = 2000
IMPORT_DECLARATION_MAX = 64
_CODE = re.compile(r"[A-Z0-9]{2,10}")


CODE_FIELDS = ("import_country", "import_port")  # kept in capitals


def cleaned(form: Form) -> Form:
    """The form as typed, without surrounding blanks; country and port codes in capitals."""
    values = {name: getattr(form, name).strip() for name in form.__struct_fields__}
    values.update({name: values[name].upper() for name in CODE_FIELDS})
    return type(form)(**values)


def validate(form: Form) -> dict[str, str]:
    """Every field error at once, as {field: Chinese message}; empty when the form is well-formed."""
    errors: dict[str, str] = {}
    if form.proof_type not in PROOF_KINDS:
        errors["proofType"] = "请选择享惠证明类型"
    if not form.import_country:
        errors["importCountry"] = "请选择进口国家/地区"
    elif not _CODE.fullmatch(form.import_country):
        errors["importCountry"] = "进口国家/地区代码有误"
    if not form.import_port:
        errors["importPort"] = "请选择进口国家/地区口岸"
    elif not _CODE.fullmatch(form.import_port):
        errors["importPort"] = "进口国家/地区口岸代码有误"
    kind = PROOF_KINDS.get(form.proof_type)
    number_label = kind.number_label if kind else "原产地证书号/声明号"
    if not form.certificate_no:
        errors["certificateNo"] = f"请填写{number_label}"
    elif len(form.certificate_no) > 40 or not form.certificate_no.isprintable():
        errors["certificateNo"] = f"{number_label}格式有误"
    if not form.export_declaration_no:
        errors["exportDeclarationNo"] = "请填写出口报关单号"
    elif not is_export_declaration_no(form.export_declaration_no):
        errors["exportDeclarationNo"] = EXPORT_DECLARATION_NO_RULE
    if not form.import_declaration_no:
        errors["importDeclarationNo"] = "请填写进口报关单号"
    elif len(form.import_declaration_no) > IMPORT_DECLARATION_MAX or not form.import_declaration_no.isprintable():
        errors["importDeclarationNo"] = "进口报关单号应为1至64位可打印字符"
    if not form.reason.strip():
        errors["reason"] = "请填写申请事由"
    elif len(form.reason) > REASON_MAX:
        errors["reason"] = "申请事由不能超过2000个字符"
    return errors


# --- what a move causes ---------------------------------------------------------------------------
# Events that carry no fields describe the application as the move left it.


@dataclass(frozen=True)
class Created:
    pass


@dataclass(frozen=True)
class Updated:
    pass


@dataclass(frozen=True)
class Submitted:
    pass


@dataclass(frozen=True)
class Withdrawn:
    pass


@dataclass(frozen=True)
class Deleted:
    by: Who


@dataclass(frozen=True)
class StatusChanged:
    from_status: Status | None
    to_status: Status
    reason: str | None
    version: int


@dataclass(frozen=True)
class DecisionRefused:
    """An officer's decision that came too late: the application had moved on (e.g. it was withdrawn)."""

    decision: Action
    status: Status
    version: int
    reason: str


Event = Created | Updated | Submitted | Withdrawn | Deleted | StatusChanged | DecisionRefused


@dataclass(frozen=True)
class HistoryEntry:
    by: Who
    action: Action
    from_status: Status | None
    to_status: Status
    reason: str | None = None


@dataclass(frozen=True)
class Effects:
    """What a move caused, to be kept with the application in the same transaction."""

    history: tuple[HistoryEntry, ...] = ()
    events: tuple[Event, ...] = ()

    def then(self, *events: Event) -> Effects:
        return replace(self, events=(*self.events, *events))


# --- the application ------------------------------------------------------------------------------


@dataclass
class Application:
    id: uuid.UUID
    request_no: str
    credit_code: str
    enterprise_name: str
    created_by: str
    form: Form
    agreement_code: str
    status: Status = Status.DRAFT
    status_reason: str | None = None
    version: int = 1
    submitted_at: datetime | None = None
    outcome: str | None = None
    reply: str | None = None
    # Told by the attachment service with every file change: a revision, how many files, how many damaged.
    attachments_revision: int = 0
    attachment_count: int = 0
    damaged_attachments: int = 0
    deleted: bool = False  # kept, not erased: the history stays for audit
    created_at: datetime | None = None  # stamped by the store
    updated_at: datetime | None = None  # stamped by the store with every history entry

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def deletable(self) -> bool:
        return self.status in DELETABLE

    @property
    def withdrawable(self) -> bool:
        return self.status in WITHDRAWABLE

    # --- the enterprise ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        id: uuid.UUID,
        request_no: str,
        credit_code: str,
        enterprise_name: str,
        created_by: str,
        by: Who,
        form: Form,
        agreement_code: str,
    ) -> tuple[Application, Effects]:
        app = cls(
            id=id,
            request_no=request_no,
            credit_code=credit_code,
            enterprise_name=enterprise_name,
            created_by=created_by,
            form=form,
            agreement_code=agreement_code,
        )
        return app, Effects(
            history=(HistoryEntry(by, Action.SAVE, None, app.status),),
            events=(Created(), StatusChanged(None, app.status, None, app.version)),
        )

    def save(self, by: Who, form: Form, agreement_code: str, *, version: int) -> Effects:
        """The enterprise edits the form; an application that was sent back becomes a draft again."""
        self._expect(version)
        source = self.status
        moved = self._move(Action.SAVE, by)
        self.form, self.agreement_code = form, agreement_code
        return Effects(moved.history, (Updated(), *(moved.events if self.status != source else ())))

    def submit(self, by: Who, now: datetime, *, version: int | None, attachments_revision: int | None) -> Effects:
        """Sent to customs, with the files the caller checked: at least one, none damaged."""
        self._expect(version)
        if attachments_revision is not None and attachments_revision != self.attachments_revision:
            raise Outdated("ATTACHMENTS_CHANGED", "附件已变更，请刷新后重新提交")
        if self.attachment_count == 0:
            raise Incomplete("ATTACHMENT_REQUIRED", "提交失败:请至少上传一个附件")
        if self.damaged_attachments > 0:
            raise Incomplete("ATTACHMENT_DAMAGED", "附件已损坏，请删除后重新上传")
        moved = self._move(Action.SUBMIT, by)
        self.submitted_at = now
        return moved.then(Submitted())

    def withdraw(self, by: Who, *, version: int | None) -> Effects:
        self._expect(version)
        return self._move(Action.WITHDRAW, by).then(Withdrawn())

    def delete(self, by: Who, *, version: int | None) -> Effects:
        self._expect(version)
        if not self.deletable:
            raise NotAllowed("DELETE_NOT_ALLOWED", "当前状态不允许删除")
        self.deleted = True
        self.version += 1
        return Effects(events=(Deleted(by),))

    def attachments_changed(self, *, count: int | None, damaged: int | None) -> Effects:
        """A file is being added or removed: only while the form may change, so no file changes after submission."""
        if not self.editable:
            raise NotAllowed("ATTACHMENTS_FROZEN", "当前状态不允许变更附件")
        self.attachments_revision += 1
        self.attachment_count = self.attachment_count if count is None else count
        self.damaged_attachments = self.damaged_attachments if damaged is None else damaged
        return Effects()

    def attachments_damaged(self, damaged: int) -> Effects:
        """How many files are damaged now, in any status (an officer's download may find one)."""
        self.damaged_attachments = max(damaged, 0)
        return Effects()

    # --- customs, by events: a receipt or decision the application has moved on from does not apply -------

    def receive(self) -> Effects:
        """Customs received it."""
        if not self.allows(Action.RECEIPT_ACCEPT):
            return Effects()
        return self._move(Action.RECEIPT_ACCEPT, CUSTOMS)

    def fail_receipt(self, reason: str) -> Effects:
        """Customs could not receive it, for the reason given (a problem with the certificate, a duplicate)."""
        if not self.allows(Action.RECEIPT_REJECT):
            return Effects()
        return self._move(Action.RECEIPT_REJECT, CUSTOMS, reason=reason)

    def decide(
        self, decision: Action, officer: Who, *, seen: int, reason: str | None = None, outcome: str | None = None
    ) -> Effects:
        """An officer's ACCEPT, RETURN or CONCLUDE (`reason` is the reply of a conclusion), taken on version
        `seen` (0: not checked). If the application moved on first, or the officer decided on a version it has
        since left (e.g. withdrawn and resubmitted), the decision loses: customs is told why, with the status
        that won."""
        if not self.allows(decision) or (seen and seen != self.version):
            lost = decision_lost(decision, self.status)
            return Effects(events=(DecisionRefused(decision, self.status, self.version, lost),))
        return self._move(decision, officer, reason=reason, outcome=outcome)

    # --- the rules of every move -------------------------------------------------------------------

    def allows(self, action: Action) -> bool:
        return next_status(self.status, action) is not None

    def _expect(self, version: int | None) -> None:
        if version is not None and version != self.version:
            raise Outdated()

    def _move(self, action: Action, by: Who, *, reason: str | None = None, outcome: str | None = None) -> Effects:
        """One status move where the table allows it, with its history entry and status_changed event."""
        source, target = self.status, next_status(self.status, action)
        if target is None:
            raise NotAllowed(message=REFUSALS.get(action))
        self.status, self.status_reason, self.version = target, reason, self.version + 1
        if outcome is not None:
            self.outcome, self.reply = outcome, reason
        return Effects(
            history=(HistoryEntry(by, action, source, target, reason),),
            events=(StatusChanged(source, target, reason, self.version),),
        )
