"""The customs case's rules: which decisions an officer may take, and how the case follows the application."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.customs_desk.domain import (
    RECEIPT,
    Case,
    CaseReturned,
    DecisionRecord,
    Effects,
    Receipt,
    ReceiptAccepted,
    ReceiptRejected,
    conclusion_errors,
    receipt_status,
    return_errors,
)
from shared.workflow import Action, NotAllowed, Outdated, Status


def case(status: Status, pending: str | None = None, request_version: int = 3) -> Case:
    return Case(status=status, version=5, request_version=request_version, pending_decision=pending)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (Status.PENDING, {Action.ACCEPT, Action.RETURN}),
        (Status.COORDINATING, {Action.RETURN, Action.CONCLUDE}),
        (Status.RECEIPT_FAILED, set()),
        (Status.CONCLUDED, set()),
    ],
)
def test_the_decisions_a_settled_case_allows(status: Status, allowed: set[Action]) -> None:
    assert {a for a in (Action.ACCEPT, Action.RETURN, Action.CONCLUDE) if case(status).can(a)} == allowed
    assert not any(case(status, pending=RECEIPT).can(a) for a in allowed)  # nothing while awaiting confirmation


def test_a_decision_changes_the_case_at_once_and_awaits_confirmation() -> None:
    c = case(Status.COORDINATING)
    c.note = "受理未生效"
    c.decide(Action.CONCLUDE, "王关员", officer_username="officer", version=5, outcome="SUCCESS", reply="已协调")
    assert (c.status, c.pending_decision, c.version, c.note) == (Status.CONCLUDED, "CONCLUDE", 6, None)
    assert (c.outcome, c.reply, c.decision_reason) == ("SUCCESS", "已协调", None)
    assert c.awaiting_confirmation


@pytest.mark.parametrize(
    ("c", "decision", "version", "refusal", "code", "message"),
    [
        (case(Status.PENDING), Action.ACCEPT, 4, Outdated, None, None),
        (
            case(Status.PENDING, pending=RECEIPT),
            Action.ACCEPT,
            None,
            NotAllowed,
            "DECISION_PENDING",
            "上一项处理尚未生效，请稍后刷新再试",
        ),
        (
            case(Status.COORDINATING),
            Action.ACCEPT,
            None,
            NotAllowed,
            "DECISION_NOT_ALLOWED",
            "仅待办状态的申请可以受理",
        ),
        (
            case(Status.RETURNED),
            Action.RETURN,
            None,
            NotAllowed,
            "DECISION_NOT_ALLOWED",
            "仅待办或协调中的申请可以退回",
        ),
        (case(Status.PENDING), Action.CONCLUDE, 5, NotAllowed, "DECISION_NOT_ALLOWED", "仅协调中的申请可以办结"),
    ],
)
def test_refused_decisions(
    c: Case, decision: Action, version: int | None, refusal: type, code: str | None, message: str | None
) -> None:
    with pytest.raises(refusal) as refused:
        c.decide(decision, "王关员", officer_username="officer", version=version, reason="r")
    assert (refused.value.code, refused.value.message) == (code, message)
    assert c.version == 5


def test_a_confirmed_decision_settles_the_case() -> None:
    c = case(Status.COORDINATING, pending="ACCEPT")
    assert c.follow(Status.COORDINATING, 4)
    assert (c.status, c.request_version, c.pending_decision, c.note, c.version) == (
        Status.COORDINATING,
        4,
        None,
        None,
        6,
    )


def test_a_decision_the_application_moved_past_is_noted_as_lost() -> None:
    c = case(Status.COORDINATING, pending="ACCEPT")
    assert c.follow(Status.WITHDRAWN, 4)
    assert (c.status, c.note) == (Status.WITHDRAWN, "受理未生效：申请当前状态为“已撤回”")


def test_an_older_status_is_ignored() -> None:
    c = case(Status.COORDINATING, pending="ACCEPT")
    assert not c.follow(Status.PENDING, 3)
    assert (c.status, c.pending_decision, c.version) == (Status.COORDINATING, "ACCEPT", 5)


def test_a_refused_decision_shows_the_status_that_won_unless_the_case_knows_a_newer_one() -> None:
    c = case(Status.COORDINATING, pending="ACCEPT")
    c.decision_refused(Status.WITHDRAWN, 4, "受理未生效：申请当前状态为“已撤回”")
    assert (c.status, c.request_version, c.pending_decision, c.version) == (Status.WITHDRAWN, 4, None, 6)
    assert c.note == "受理未生效：申请当前状态为“已撤回”"

    newer = case(Status.DECLARED, pending="RETURN", request_version=6)
    newer.decision_refused(Status.WITHDRAWN, 4, "退回未生效")
    assert (newer.status, newer.request_version, newer.note) == (Status.DECLARED, 6, "退回未生效")


def test_receipt_and_form_rules() -> None:
    assert (receipt_status(None), receipt_status("已被撤销")) == (Status.PENDING, Status.RECEIPT_FAILED)
    assert return_errors("") == {"reason": "请填写退回原因（1至500个字符）"} and return_errors("补充材料") == {}
    assert set(conclusion_errors("MAYBE", "")) == {"outcome", "reply"}
    assert conclusion_errors("NOT_ACCEPTED", "答" * 2000) == {}


def test_a_drafts_creation_and_its_move_to_declared_cost_customs_no_transaction() -> None:
    import asyncio
    from datetime import UTC, datetime

    from services.customs_desk.service import CustomsDesk
    from shared.contracts.events import RequestStatusChanged
    from shared.inbox import SKIP

    def change(source: str | None, target: str) -> RequestStatusChanged:
        return RequestStatusChanged(event_id="e", occurred_at=datetime(2026, 3, 10, tzinfo=UTC), request_id="r",
                                    credit_code="c", from_status=source, to_status=target, version=2)  # fmt: skip

    def matters(source: str | None, target: str) -> bool:
        return asyncio.run(CustomsDesk.status_change_matters(change(source, target))) is not SKIP

    assert not matters(None, "DRAFT")
    assert not matters("DRAFT", "DECLARED") and not matters("RETURNED", "DECLARED")
    assert matters("DECLARED", "PENDING") and matters("PENDING", "WITHDRAWN") and matters("RETURNED", "DRAFT")


def test_a_decision_says_what_it_caused() -> None:
    c = case(Status.PENDING)
    assert c.decide(Action.RETURN, "王关员", officer_username="officer", version=5, reason="补充材料") == Effects(
        decisions=(DecisionRecord("王关员", Action.RETURN, reason="补充材料"),),
        events=(CaseReturned("王关员", "补充材料", officer_username="officer"),),
    )


def test_a_receipt_is_refused_for_its_certificate_before_a_duplicate() -> None:
    at = datetime(2026, 3, 10, 8, tzinfo=UTC)
    request_id = uuid.uuid4()
    received, effects = Receipt.of(request_id, None, at, 2, certificate_problem=None, open_case=None)
    assert (received.status, received.problem, received.due_at) == (Status.PENDING, None, at + timedelta(days=30))
    assert effects.events == (ReceiptAccepted(),)
    duplicate, effects = Receipt.of(request_id, None, at, 2, certificate_problem=None, open_case="XT1")
    assert duplicate.status == Status.RECEIPT_FAILED
    assert effects.events == (ReceiptRejected("该证书与出口报关单已有办理中的协调申请（XT1），请勿重复申请"),)
    revoked, _ = Receipt.of(request_id, None, at, 2, certificate_problem="已被撤销", open_case="XT1")
    assert revoked.problem == "已被撤销"
