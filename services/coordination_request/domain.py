"""The application's rules: statuses, the transition table, and form validation (standard library only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "DRAFT"
    DECLARED = "DECLARED"
    RECEIPT_FAILED = "RECEIPT_FAILED"
    PENDING = "PENDING"
    WITHDRAWN = "WITHDRAWN"
    RETURNED = "RETURNED"
    COORDINATING = "COORDINATING"
    CONCLUDED = "CONCLUDED"


EDITABLE = frozenset({Status.DRAFT, Status.RECEIPT_FAILED, Status.WITHDRAWN, Status.RETURNED})
DELETABLE = frozenset({Status.DRAFT, Status.WITHDRAWN, Status.RETURNED})
WITHDRAWABLE = frozenset({Status.PENDING})


class Action(StrEnum):
    SAVE = "SAVE"
    SUBMIT = "SUBMIT"
    RECEIPT_ACCEPT = "RECEIPT_ACCEPT"
    RECEIPT_REJECT = "RECEIPT_REJECT"
    WITHDRAW = "WITHDRAW"
    ACCEPT = "ACCEPT"
    RETURN = "RETURN"
    CONCLUDE = "CONCLUDE"


# action -> (statuses it may start from, status it leads to); every other move is refused.
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.SAVE: (EDITABLE, Status.DRAFT),
    Action.SUBMIT: (EDITABLE, Status.DECLARED),
    Action.RECEIPT_ACCEPT: (frozenset({Status.DECLARED}), Status.PENDING),
    Action.RECEIPT_REJECT: (frozenset({Status.DECLARED}), Status.RECEIPT_FAILED),
    Action.WITHDRAW: (WITHDRAWABLE, Status.WITHDRAWN),
    Action.ACCEPT: (frozenset({Status.PENDING}), Status.COORDINATING),
    Action.RETURN: (frozenset({Status.PENDING, Status.COORDINATING}), Status.RETURNED),
    Action.CONCLUDE: (frozenset({Status.COORDINATING}), Status.CONCLUDED),
}

ACTION_LABELS: dict[Action, str] = {
    Action.SAVE: "暂存",
    Action.SUBMIT: "提交",
    Action.RECEIPT_ACCEPT: "海关接收",
    Action.RECEIPT_REJECT: "海关接收失败",
    Action.WITHDRAW: "撤回",
    Action.ACCEPT: "受理",
    Action.RETURN: "退回",
    Action.CONCLUDE: "办结",
}

REFUSALS: dict[Action, str] = {
    Action.SAVE: "当前状态不允许修改",
    Action.SUBMIT: "当前状态不允许提交",
    Action.WITHDRAW: "仅待办状态的申请可以撤回",
}
DELETE_REFUSAL = "当前状态不允许删除"


class IllegalTransition(Exception):
    def __init__(self, action: Action, status: Status) -> None:
        super().__init__(f"{action} not allowed from {status}")
        self.action = action
        self.status = status
        self.message = REFUSALS.get(action, "当前状态不允许该操作")


def transition(status: Status, action: Action) -> Status:
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(action, status)
    return target


def can_delete(status: Status) -> bool:
    return status in DELETABLE


# --- the form -------------------------------------------------------------------------------------

PROOF_TYPE_CODES = ("CUSTOMS_CO", "APPROVED_EXPORTER", "RULING_DECLARATION", "CCPIT_CO")
NUMBER_LABELS = {
    "CUSTOMS_CO": "原产地证书号",
    "APPROVED_EXPORTER": "原产地声明号",
    "RULING_DECLARATION": "原产地声明号",
    "CCPIT_CO": "原产地证书号",
}
REASON_MAX = 2000
IMPORT_DECLARATION_MAX = 64
_EXPORT_DECLARATION = re.compile(r"[0-9]{8}0[0-9]{9}")
_CODE = re.compile(r"[A-Z0-9]{2,10}")


@dataclass(frozen=True)
class Form:
    proof_type: str
    import_country: str
    import_port: str
    certificate_no: str
    export_declaration_no: str
    import_declaration_no: str
    reason: str


def validate(form: Form) -> dict[str, str]:
    """Every field error at once, as {field: Chinese message}; empty when the form is well-formed."""
    errors: dict[str, str] = {}
    if form.proof_type not in PROOF_TYPE_CODES:
        errors["proofType"] = "请选择享惠证明类型"
    if not form.import_country:
        errors["importCountry"] = "请选择进口国家/地区"
    elif not _CODE.fullmatch(form.import_country):
        errors["importCountry"] = "进口国家/地区代码有误"
    if not form.import_port:
        errors["importPort"] = "请选择进口国家/地区口岸"
    elif not _CODE.fullmatch(form.import_port):
        errors["importPort"] = "进口国家/地区口岸代码有误"
    number_label = NUMBER_LABELS.get(form.proof_type, "原产地证书号/声明号")
    if not form.certificate_no:
        errors["certificateNo"] = f"请填写{number_label}"
    elif len(form.certificate_no) > 40 or not form.certificate_no.isprintable():
        errors["certificateNo"] = f"{number_label}格式有误"
    if not form.export_declaration_no:
        errors["exportDeclarationNo"] = "请填写出口报关单号"
    elif not _EXPORT_DECLARATION.fullmatch(form.export_declaration_no):
        errors["exportDeclarationNo"] = "出口报关单号应为18位数字，且第9位为0"
    if not form.import_declaration_no:
        errors["importDeclarationNo"] = "请填写进口报关单号"
    elif len(form.import_declaration_no) > IMPORT_DECLARATION_MAX or not form.import_declaration_no.isprintable():
        errors["importDeclarationNo"] = "进口报关单号应为1至64位可打印字符"
    if not form.reason.strip():
        errors["reason"] = "请填写申请事由"
    elif len(form.reason) > REASON_MAX:
        errors["reason"] = "申请事由不能超过2000个字符"
    return errors
