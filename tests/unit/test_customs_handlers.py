"""customs-desk's handlers against an in-memory store and a registry that knows the certificates it is told of:
the receipt, the case following the application, every decision and its refusals with their codes, idempotent
retries, and the events and decision records each one keeps."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from services.customs_desk import domain
from services.customs_desk.domain import RECEIPT, Case, DecisionRecord, Effects, Receipt
from services.customs_desk.repository import Cases, outbox_event
from services.customs_desk.service import CustomsDesk
from shared.contracts import customs as c
from shared.contracts import events, registry
from shared.contracts.common import Actor
from shared.contracts.events import DecisionRefused, RequestStatusChanged, RequestSubmitted
from shared.contracts.idempotency import IdempotencyKey
from shared.errors import NotFound, ServiceError
from shared.paging import Page
from shared.workflow import Action, Status
from tests.unit import fakes
from tests.unit.fakes import InMemoryKeys

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 11 March in China
SUBMITTED_AT = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
OFFICER = Actor(user_id="o1", username="officer", display_name="王关员", role="OFFICER")
ENTERPRISE = Actor(
    user_id="u1", username="demo", display_name="张三", role="ENTERPRISE", credit_code="91310115MA1K4B2X0T"
)
CERTIFICATE = "K2631000000001"
REVOKED = "K2631000000002"
EXPIRED = "K2631000000003"
LAST_VALID_DAY = "K2631000000004"  # valid until the China day of NOW: still valid


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class InMemoryCases(InMemoryKeys, Cases):
    """The cases in a dictionary by application; what a move caused is kept in lists, in the order it was written."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Case] = {}
        self.decisions: list[tuple[uuid.UUID, DecisionRecord]] = []  # (case id, record)
        self.events: list[domain.Event] = []
        self.keys: dict[tuple[str, str], tuple[str, bytes | None]] = {}  # (user, key) -> (fingerprint, reply)

    async def lock(self, request_id: uuid.UUID) -> Case | None:
        return copy.deepcopy(self.rows.get(request_id))

    async def find(self, request_id: uuid.UUID) -> Case | None:
        return copy.deepcopy(self.rows.get(request_id))

    async def page(self, q: c.CaseQuery) -> Page[Case]:
        matching = [case for case in self.rows.values() if not q.status or case.status == q.status]
        matching.sort(key=lambda case: (case.due_at, case.id))
        return Page([copy.deepcopy(case) for case in matching[: q.limit]], len(matching), None)

    async def open_case_like(self, form: Any, request_id: uuid.UUID) -> str | None:
        def same(other: Any) -> bool:
            fields = ("proof_type", "certificate_no", "export_declaration_no")
            return all(getattr(other, name) == getattr(form, name) for name in fields)

        for case in self.rows.values():
            if case.request_id != request_id and case.status in domain.OPEN and same(case.form):
                return case.form.request_no
        return None

    async def receive(self, receipt: Receipt, effects: Effects) -> None:
        kept = self.rows.get(receipt.request_id)
        self.rows[receipt.request_id] = Case(
            status=receipt.status,
            version=kept.version + 1 if kept else 1,
            request_version=receipt.request_version,
            pending_decision=RECEIPT,
            decision_reason=receipt.problem,
            id=kept.id if kept else uuid.uuid4(),
            request_id=receipt.request_id,
            form=receipt.form,
            received_at=NOW,
            due_at=receipt.due_at,
        )
        self.events.extend(effects.events)

    async def save(self, case: Case, effects: Effects = domain.NOTHING) -> None:
        self.rows[case.request_id] = copy.deepcopy(case)
        self.decisions.extend((case.id, record) for record in effects.decisions)
        self.events.extend(effects.events)


class InMemoryStore(fakes.InMemoryStore[Cases]):
    def __init__(self) -> None:
        super().__init__(InMemoryCases())
        self.cases = self.work


class Registry:
    """The registry's certificate lookup: the certificates it knows, an unknown one not found."""

    def __init__(self) -> None:
        self.asked: list[registry.CertificateKey] = []
        last_day = date(2026, 3, 11)  # the China day of NOW
        self.certificates = {
            CERTIFICATE: {},
            REVOKED: {"status": "REVOKED"},
            EXPIRED: {"valid_until": last_day - timedelta(days=1)},
            LAST_VALID_DAY: {"valid_until": last_day},
        }

    async def __call__(self, key: registry.CertificateKey) -> registry.CertificateInfo:
        self.asked.append(key)
        if key.certificate_no not in self.certificates:
            raise NotFound()
        return registry.CertificateInfo(
            proof_type=key.proof_type,
            certificate_no=key.certificate_no,
            agreement_code="22",
            agreement_name="RCEP",
            **self.certificates[key.certificate_no],
        )


class PinnedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def the_registry() -> Registry:
    return Registry()


@pytest.fixture
def desk(store: InMemoryStore, the_registry: Registry) -> CustomsDesk:
    return CustomsDesk(store, the_registry, PinnedClock())


def _event(request_id: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": NOW, "request_id": request_id}


def submission(request_id: str, *, version: int = 2, certificate_no: str = CERTIFICATE, n: int = 1) -> RequestSubmitted:
    return RequestSubmitted(
        **_event(request_id),
        version=version,
        submitted_at=SUBMITTED_AT,
        form=events.RequestFormSnapshot(
            request_no=f"XT20260310{n:06d}",
            credit_code="91310115MA1K4B2X0T",
            enterprise_name="上海华贸进出口有限公司",
            agreement_code="22",
            proof_type="CUSTOMS_CO",
            import_country="JP",
            import_port="JPTYO",
            certificate_no=certificate_no,
            export_declaration_no="310120260000123456",
            import_declaration_no="JP-1",
            reason="进口国海关不认可原产地证书",
        ),
    )


def status_changed(request_id: str, source: Status, target: Status, version: int) -> RequestStatusChanged:
    return RequestStatusChanged(
        **_event(request_id), credit_code=ENTERPRISE.credit_code, from_status=source, to_status=target, version=version
    )


async def submit(desk: CustomsDesk, event: RequestSubmitted) -> None:
    """The submitted event as the inbox hands it over: the lookup first, then the receipt in the transaction."""
    await desk.on_submitted(None, event, await desk.certificate_problem(event))


async def received(desk: CustomsDesk, store: InMemoryStore, n: int = 1) -> c.Case:
    """A case customs received and coordination-request confirmed (待办), ready for an officer."""
    request_id = str(uuid.uuid4())
    await submit(desk, submission(request_id, n=n))
    await desk.on_status_changed(None, status_changed(request_id, Status.DECLARED, Status.PENDING, 3))
    store.cases.events.clear()
    return await desk.get_case(c.CaseRef(actor=OFFICER, request_id=request_id))


async def confirmed(desk: CustomsDesk, store: InMemoryStore, case: c.Case, target: Status) -> c.Case:
    """coordination-request took the officer's decision: its status_changed, one application version on."""
    kept = store.cases.rows[uuid.UUID(case.request_id)]
    await desk.on_status_changed(None, status_changed(case.request_id, kept.status, target, kept.request_version + 1))
    return await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))


def decision(case: c.Case, **fields: Any) -> c.Decision:
    return c.Decision(actor=OFFICER, request_id=case.request_id, version=case.version, **fields)


async def refused(call: Any, status: int, code: str, message: str | None = None) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        await call
    assert (error.value.status, error.value.code) == (status, code)
    if message is not None:
        assert error.value.message == message
    return error.value


# --- receipt --------------------------------------------------------------------------------------


async def test_a_receipt_files_the_case_and_awaits_confirmation(
    desk: CustomsDesk, store: InMemoryStore, the_registry: Registry
) -> None:
    request_id = str(uuid.uuid4())
    await submit(desk, submission(request_id))

    assert the_registry.asked == [registry.CertificateKey(proof_type="CUSTOMS_CO", certificate_no=CERTIFICATE)]
    assert store.cases.events == [domain.ReceiptAccepted()]
    case = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=request_id))
    assert (case.status, case.status_label, case.version, case.request_no) == ("PENDING", "待办", 1, "XT20260310000001")
    assert (case.certificate_no, case.enterprise_name, case.agreement_code) == (
        CERTIFICATE,
        "上海华贸进出口有限公司",
        "22",
    )
    assert (case.received_at, case.due_at) == (NOW, SUBMITTED_AT + timedelta(days=30))
    # Until coordination-request confirms the receipt, officers may not act on it.
    assert case.awaiting_confirmation and not (case.can_accept or case.can_return or case.can_conclude)
    await refused(desk.accept(decision(case)), 409, "DECISION_PENDING", "上一项处理尚未生效，请稍后刷新再试")

    await desk.on_status_changed(None, status_changed(request_id, Status.DECLARED, Status.PENDING, 3))
    ready = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=request_id))
    assert (ready.status, ready.version, ready.awaiting_confirmation) == ("PENDING", 2, False)
    assert (ready.can_accept, ready.can_return, ready.can_conclude) == (True, True, False)


@pytest.mark.parametrize(
    ("certificate_no", "problem"),
    [
        ("K2631999999999", "原产地证书（声明）在海关系统中不存在"),
        (REVOKED, "原产地证书（声明）已被撤销"),
        (EXPIRED, "原产地证书（声明）已过有效期"),
    ],
)
async def test_a_receipt_refused_for_its_certificate(
    desk: CustomsDesk, store: InMemoryStore, certificate_no: str, problem: str
) -> None:
    request_id = str(uuid.uuid4())
    await submit(desk, submission(request_id, certificate_no=certificate_no))

    assert store.cases.events == [domain.ReceiptRejected(problem)]
    case = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=request_id))
    assert (case.status, case.status_label, case.decision_reason) == ("RECEIPT_FAILED", "海关接收失败", problem)
    assert case.awaiting_confirmation and not case.can_return


async def test_a_certificate_is_valid_through_its_last_china_day(desk: CustomsDesk, store: InMemoryStore) -> None:
    await submit(desk, submission(str(uuid.uuid4()), certificate_no=LAST_VALID_DAY))
    assert store.cases.events == [domain.ReceiptAccepted()]


async def test_a_second_open_case_for_the_same_certificate_and_declaration_is_refused(
    desk: CustomsDesk, store: InMemoryStore
) -> None:
    first = await received(desk, store)
    second = str(uuid.uuid4())
    await submit(desk, submission(second, n=2))

    problem = f"该证书与出口报关单已有办理中的协调申请（{first.request_no}），请勿重复申请"
    assert store.cases.events == [domain.ReceiptRejected(problem)]
    assert (await desk.get_case(c.CaseRef(actor=OFFICER, request_id=second))).status == "RECEIPT_FAILED"

    # Once the first is no longer open with customs, the same certificate and declaration may be received again.
    await desk.on_status_changed(None, status_changed(first.request_id, Status.PENDING, Status.WITHDRAWN, 4))
    store.cases.events.clear()
    await submit(desk, submission(second, version=4, n=2))
    assert store.cases.events == [domain.ReceiptAccepted()]


async def test_a_resubmission_receives_the_same_case_again_its_decisions_cleared(
    desk: CustomsDesk, store: InMemoryStore
) -> None:
    case = await received(desk, store)
    await desk.return_(decision(case, reason="请补充材料"))
    returned = await confirmed(desk, store, case, Status.RETURNED)
    assert (returned.status, returned.decision_reason) == ("RETURNED", "请补充材料")
    store.cases.events.clear()

    await submit(desk, submission(case.request_id, version=7))
    again = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))
    assert (again.id, again.status, again.version) == (case.id, "PENDING", returned.version + 1)
    assert (again.decision_reason, again.outcome, again.reply, again.note) == (None, None, None, None)
    assert again.awaiting_confirmation
    assert store.cases.events == [domain.ReceiptAccepted()]
    assert len(store.cases.rows) == 1


# --- the application's status, mirrored -------------------------------------------------------------


async def test_the_newest_status_wins_and_an_older_one_is_ignored(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    await desk.on_status_changed(None, status_changed(case.request_id, Status.PENDING, Status.WITHDRAWN, 5))
    withdrawn = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))
    assert (withdrawn.status, withdrawn.version) == ("WITHDRAWN", case.version + 1)

    await desk.on_status_changed(None, status_changed(case.request_id, Status.DECLARED, Status.PENDING, 4))
    assert await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id)) == withdrawn
    # An application customs never received has no case here.
    await desk.on_status_changed(None, status_changed(str(uuid.uuid4()), Status.PENDING, Status.WITHDRAWN, 5))
    assert len(store.cases.rows) == 1 and store.cases.events == []


async def test_a_decision_the_application_moved_past_is_noted_as_lost(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    await desk.accept(decision(case))
    await desk.on_status_changed(None, status_changed(case.request_id, Status.PENDING, Status.WITHDRAWN, 4))
    lost = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))
    assert (lost.status, lost.awaiting_confirmation) == ("WITHDRAWN", False)
    assert lost.note == "受理未生效：申请当前状态为“已撤回”"


async def test_a_refused_decision_shows_the_status_that_won_and_why(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    accepted = await desk.accept(decision(case))
    reason = "受理未生效：申请当前状态为“已撤回”"
    refusal = DecisionRefused(
        **_event(case.request_id), decision="ACCEPT", status="WITHDRAWN", version=4, reason=reason
    )
    await desk.on_decision_refused(None, refusal)

    shown = await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))
    assert (shown.status, shown.note, shown.version) == ("WITHDRAWN", reason, accepted.version + 1)
    assert not shown.awaiting_confirmation and not shown.can_accept
    await desk.on_decision_refused(None, msgspec.structs.replace(refusal, request_id=str(uuid.uuid4())))  # not ours
    assert len(store.cases.rows) == 1


# --- officers' decisions --------------------------------------------------------------------------


async def test_an_officer_accepts_then_concludes(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    accepted = await desk.accept(decision(case))
    assert (accepted.status, accepted.version, accepted.awaiting_confirmation) == (
        "COORDINATING",
        case.version + 1,
        True,
    )
    assert not (accepted.can_return or accepted.can_conclude)
    assert store.cases.events == [domain.CaseAccepted("王关员", officer_username="officer")]

    coordinating = await confirmed(desk, store, case, Status.COORDINATING)
    assert (coordinating.can_return, coordinating.can_conclude) == (True, True)
    store.cases.events.clear()
    concluded = await desk.conclude(decision(coordinating, outcome="SUCCESS", reply=" 已与进口国海关协调成功 "))
    assert (concluded.status, concluded.outcome, concluded.reply) == ("CONCLUDED", "SUCCESS", "已与进口国海关协调成功")
    assert store.cases.events == [
        domain.CaseConcluded("王关员", "SUCCESS", "已与进口国海关协调成功", officer_username="officer")
    ]
    assert [record for _, record in store.cases.decisions] == [
        DecisionRecord("王关员", Action.ACCEPT),
        DecisionRecord("王关员", Action.CONCLUDE, outcome="SUCCESS", reply="已与进口国海关协调成功"),
    ]
    assert {case_id for case_id, _ in store.cases.decisions} == {uuid.UUID(case.id)}


async def test_an_officer_returns_with_a_reason(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    returned = await desk.return_(decision(case, reason=" 请补充材料 "))
    assert (returned.status, returned.decision_reason, returned.awaiting_confirmation) == (
        "RETURNED",
        "请补充材料",
        True,
    )
    assert store.cases.events == [domain.CaseReturned("王关员", "请补充材料", officer_username="officer")]
    assert [record for _, record in store.cases.decisions] == [
        DecisionRecord("王关员", Action.RETURN, reason="请补充材料")
    ]


async def test_only_officers_see_and_decide(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    as_enterprise = c.Decision(actor=ENTERPRISE, request_id=case.request_id, reason="r", outcome="SUCCESS", reply="r")
    for call in (
        desk.accept(as_enterprise),
        desk.return_(as_enterprise),
        desk.conclude(as_enterprise),
        desk.get_case(c.CaseRef(actor=ENTERPRISE, request_id=case.request_id)),
        desk.list_cases(c.CaseQuery(actor=ENTERPRISE)),
    ):
        await refused(call, 403, "FORBIDDEN", "仅海关关员可以办理")
    assert store.cases.events == [] and store.cases.decisions == []


async def test_a_case_customs_never_received_is_not_found(desk: CustomsDesk, store: InMemoryStore) -> None:
    for request_id in (str(uuid.uuid4()), "not-a-uuid"):
        missing = c.Decision(actor=OFFICER, request_id=request_id)
        for call in (desk.accept(missing), desk.get_case(c.CaseRef(actor=OFFICER, request_id=request_id))):
            await refused(call, 404, "CASE_NOT_FOUND", "该申请不存在或尚未被海关接收")


async def test_a_decision_on_a_version_since_changed_is_a_conflict(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    await refused(
        desk.accept(c.Decision(actor=OFFICER, request_id=case.request_id, version=case.version - 1)),
        409,
        "VERSION_CONFLICT",
        "数据已被修改，请刷新后重试",
    )
    assert (await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))) == case
    assert store.cases.events == [] and store.cases.decisions == []


async def test_no_second_decision_before_the_first_is_confirmed(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    accepted = await desk.accept(decision(case))
    store.cases.events.clear()
    await refused(
        desk.return_(decision(accepted, reason="补充")), 409, "DECISION_PENDING", "上一项处理尚未生效，请稍后刷新再试"
    )
    assert store.cases.events == [] and len(store.cases.decisions) == 1


@pytest.mark.parametrize(
    ("act", "message"),
    [
        ("accept", "仅待办状态的申请可以受理"),
        ("conclude", "仅协调中的申请可以办结"),
    ],
)
async def test_a_decision_the_status_does_not_allow(
    desk: CustomsDesk, store: InMemoryStore, act: str, message: str
) -> None:
    case = await received(desk, store)
    if act == "accept":
        await desk.return_(decision(case, reason="补充"))
        case = await confirmed(desk, store, case, Status.RETURNED)
    await refused(
        getattr(desk, act)(decision(case, outcome="SUCCESS", reply="答复")), 409, "DECISION_NOT_ALLOWED", message
    )
    assert (await desk.get_case(c.CaseRef(actor=OFFICER, request_id=case.request_id))) == case


async def test_a_return_after_conclusion_is_not_allowed(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    await desk.accept(decision(case))
    coordinating = await confirmed(desk, store, case, Status.COORDINATING)
    await desk.conclude(decision(coordinating, outcome="UNRESOLVED", reply="未果"))
    concluded = await confirmed(desk, store, case, Status.CONCLUDED)
    await refused(
        desk.return_(decision(concluded, reason="补充")), 409, "DECISION_NOT_ALLOWED", "仅待办或协调中的申请可以退回"
    )


@pytest.mark.parametrize("reason", ["", "   ", "因" * 501])
async def test_a_return_needs_a_reason(desk: CustomsDesk, store: InMemoryStore, reason: str) -> None:
    case = await received(desk, store)
    error = await refused(desk.return_(decision(case, reason=reason)), 422, "VALIDATION_FAILED")
    assert {f.field: f.message for f in error.fields} == {"reason": "请填写退回原因（1至500个字符）"}
    assert store.cases.events == []


async def test_a_conclusion_needs_an_outcome_and_a_reply(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    error = await refused(desk.conclude(decision(case, outcome="MAYBE", reply=" ")), 422, "VALIDATION_FAILED")
    assert {f.field: f.message for f in error.fields} == {
        "outcome": "请选择办结结果：协调成功、协调未果或不予受理",
        "reply": "请填写答复内容（1至2000个字符）",
    }
    error = await refused(desk.conclude(decision(case, outcome="SUCCESS", reply="答" * 2001)), 422, "VALIDATION_FAILED")
    assert [f.field for f in error.fields] == ["reply"]
    assert store.cases.events == []


async def test_a_retried_decision_replays_the_first_reply_and_decides_once(
    desk: CustomsDesk, store: InMemoryStore
) -> None:
    case = await received(desk, store)
    key = IdempotencyKey(key="accept-1", fingerprint="f1")
    first = await desk.accept(decision(case, idempotency=key))
    again = await desk.accept(decision(case, idempotency=key))

    assert again == first
    assert (
        store.cases.events == [domain.CaseAccepted("王关员", officer_username="officer")]
        and len(store.cases.decisions) == 1
    )
    await refused(
        desk.accept(decision(case, idempotency=IdempotencyKey(key="accept-1", fingerprint="another body"))),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )


async def test_a_refused_decision_leaves_its_key_free(desk: CustomsDesk, store: InMemoryStore) -> None:
    case = await received(desk, store)
    key = IdempotencyKey(key="decide-1", fingerprint="f")
    await refused(
        desk.conclude(decision(case, outcome="SUCCESS", reply="答复", idempotency=key)), 409, "DECISION_NOT_ALLOWED"
    )
    accepted = await desk.accept(decision(case, idempotency=key))
    assert accepted.status == "COORDINATING"


# --- the queue ------------------------------------------------------------------------------------


async def test_the_queue_shows_the_cases_matching_the_query(desk: CustomsDesk, store: InMemoryStore) -> None:
    first = await received(desk, store, n=1)
    await desk.accept(decision(first))
    await confirmed(desk, store, first, Status.COORDINATING)
    second = str(uuid.uuid4())
    await submit(desk, submission(second, n=2, certificate_no=REVOKED))

    everything = await desk.list_cases(c.CaseQuery(actor=OFFICER))
    assert {case.request_id for case in everything.items} == {first.request_id, second} and everything.total == 2
    failed = await desk.list_cases(c.CaseQuery(actor=OFFICER, status="RECEIPT_FAILED"))
    assert [(case.request_id, case.status_label) for case in failed.items] == [(second, "海关接收失败")]


# --- what the store publishes ----------------------------------------------------------------------


def test_the_published_events_name_the_case_and_the_version_decided_on() -> None:
    case_id, request_id = uuid.uuid4(), uuid.uuid4()
    ids = {"request_id": str(request_id), "case_id": str(case_id)}

    def published(event: domain.Event) -> dict[str, Any]:
        made = outbox_event(case_id, request_id, 3, event)
        return {
            "type": type(made),
            **{k: v for k, v in msgspec.structs.asdict(made).items() if k not in ("event_id", "occurred_at")},
        }

    assert published(domain.ReceiptAccepted()) == {"type": events.ReceiptAccepted, **ids}
    assert published(domain.ReceiptRejected("已被撤销")) == {
        "type": events.ReceiptRejected,
        "request_id": str(request_id),
        "reason": "已被撤销",
    }
    common = {**ids, "officer": "王关员", "officer_username": "officer", "request_version": 3}
    assert published(domain.CaseAccepted("王关员", officer_username="officer")) == {
        "type": events.CaseAccepted,
        **common,
    }
    assert published(domain.CaseReturned("王关员", "补", officer_username="officer")) == {
        "type": events.CaseReturned,
        **common,
        "reason": "补",
    }
    assert published(domain.CaseConcluded("王关员", "SUCCESS", "答", officer_username="officer")) == {
        "type": events.CaseConcluded,
        **common,
        "outcome": "SUCCESS",
        "reply": "答",
    }
