"""The coordination workflow both sides follow (SPEC §5): statuses, the moves between them, their labels, and
the refusals of a move the rules forbid (standard library only)."""

from __future__ import annotations

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

# What an officer decides; the other moves belong to the enterprise or to the receipt.
DECISIONS = frozenset({Action.ACCEPT, Action.RETURN, Action.CONCLUDE})

# The statuses of SPEC §5 as users read them.
STATUS_LABELS: dict[Status, str] = {
    Status.DRAFT: "暂存",
    Status.DECLARED: "已申报",
    Status.RECEIPT_FAILED: "海关接收失败",
    Status.PENDING: "待办",
    Status.WITHDRAWN: "已撤回",
    Status.RETURNED: "退回",
    Status.COORDINATING: "协调中",
    Status.CONCLUDED: "已办结",
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

# Outcomes of a concluded coordination (SPEC §5).
OUTCOMES: dict[str, str] = {"SUCCESS": "协调成功", "UNRESOLVED": "协调未果", "NOT_ACCEPTED": "不予受理"}


def next_status(status: Status, action: Action) -> Status | None:
    """Where the action leads from the status; None when the table forbids it."""
    sources, target = TRANSITIONS[action]
    return target if status in sources else None


def decision_lost(decision: Action, status: str) -> str:
    """What customs reads when the application moved on before an officer's decision took effect."""
    return f"{ACTION_LABELS[decision]}未生效：申请当前状态为“{STATUS_LABELS.get(status, status)}”"


class Refused(Exception):
    """A move the rules forbid: the stable code and the Chinese message the caller is told (None: the usual
    ones of its kind)."""

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class Outdated(Refused):
    """Asked on data (a version, a set of files) that has changed since the caller read it."""


class NotAllowed(Refused):
    """The current status does not allow it."""


class Incomplete(Refused):
    """Something the move needs is missing or unusable."""
