"""Every (status, action) pair: the allowed ones move where SPEC §5 says, all others are refused."""

from __future__ import annotations

import pytest

from shared.workflow import DELETABLE, EDITABLE, WITHDRAWABLE, Action, Status, next_status

S = Status
EXPECTED: dict[tuple[Status, Action], Status] = {
    **{(s, Action.SAVE): S.DRAFT for s in (S.DRAFT, S.RECEIPT_FAILED, S.WITHDRAWN, S.RETURNED)},
    **{(s, Action.SUBMIT): S.DECLARED for s in (S.DRAFT, S.RECEIPT_FAILED, S.WITHDRAWN, S.RETURNED)},
    (S.DECLARED, Action.RECEIPT_ACCEPT): S.PENDING,
    (S.DECLARED, Action.RECEIPT_REJECT): S.RECEIPT_FAILED,
    (S.PENDING, Action.WITHDRAW): S.WITHDRAWN,
    (S.PENDING, Action.ACCEPT): S.COORDINATING,
    (S.PENDING, Action.RETURN): S.RETURNED,
    (S.COORDINATING, Action.RETURN): S.RETURNED,
    (S.COORDINATING, Action.CONCLUDE): S.CONCLUDED,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_action_pair(status: Status, action: Action) -> None:
    assert next_status(status, action) == EXPECTED.get((status, action))


def test_flags_match_the_spec_table() -> None:
    assert {s.value for s in EDITABLE} == {"DRAFT", "RECEIPT_FAILED", "WITHDRAWN", "RETURNED"}
    assert {s.value for s in DELETABLE} == {"DRAFT", "WITHDRAWN", "RETURNED"}
    assert {s.value for s in WITHDRAWABLE} == {"PENDING"}
