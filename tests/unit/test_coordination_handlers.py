"""coordination-request's handlers against an in-memory store and a registry that answers as told: every move,
the refusals with their codes, version conflicts, tenant scope, and the events each move publishes."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from services.coordination_request import domain
from services.coordination_request.domain import Application, Effects
from services.coordination_request.repository import Applications, move_target
from services.coordination_request.service import Requests
from services.identity.admin import USERNAME
from shared.contracts import coordination as c
from shared.contracts import registry
from shared.contracts.common import Actor, FieldError
from shared.contracts.events import CaseAccepted, CaseConcluded, CaseReturned, ReceiptAccepted, ReceiptRejected
from shared.contracts.idempotency import IdempotencyKey
from shared.errors import ServiceError
from shared.paging import Page
from shared.workflow import Action, Status
from tests.unit import fakes
from tests.unit.fakes import InMemoryKeys

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 00:30 on 11 March in China
ME = Actor(
    user_id="u1",
    username="demo",
    display_name="张三",
    role="ENTERPRISE",
    credit_code="91310115MA1K4B2X0T",
    enterprise_name="上海华贸进出口有限公司",
)
OTHER = Actor(user_id="u2", username="demo2", display_name="李四", role="ENTERPRISE", credit_code="91330200MA2H8XYZ1Q")
OFFICER = Actor(user_id="o1", username="officer", display_name="王关员", role="OFFICER")
FORM = c.RequestForm(
    proof_type="CUSTOMS_CO",
    import_country=" jp ",
    import_port="jptyo",
    certificate_no=" K2631000000001 ",
    export_declaration_no="310120260000123456",
    import_declaration_no="JP-1",
    reason="进口国海关不认可原产地证书",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class InMemoryApplications(InMemoryKeys, Applications):
    """The applications in dictionaries; what a move caused is kept in lists, in the order it was written."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Application] = {}
        self.counters: dict[date, int] = {}
        self.history_of: dict[uuid.UUID, list[c.HistoryEntry]] = {}
        self.events: list[domain.Event] = []
        self.audit: list[tuple[str, str, str]] = []  # (actor, action, target), as the store records them
        self.keys: dict[tuple[str, str], tuple[str, bytes | None]] = {}  # (user, key) -> (fingerprint, reply)

    async def next_sequence(self, day: date) -> int:
        self.counters[day] = self.counters.get(day, 0) + 1
        return self.counters[day]

    async def lock(self, request_id: uuid.UUID, tenant: str) -> Application | None:
        app = self.rows.get(request_id)
        return copy.deepcopy(app) if app and app.credit_code == tenant and not app.deleted else None

    async def lock_any(self, request_id: uuid.UUID) -> Application | None:
        return copy.deepcopy(self.rows.get(request_id))

    async def find(self, request_id: uuid.UUID, tenant: str | None) -> Application | None:
        app = self.rows.get(request_id)
        visible = app is not None and not app.deleted and tenant in (None, app.credit_code)
        return copy.deepcopy(app) if visible else None

    async def history(self, request_id: uuid.UUID) -> list[c.HistoryEntry]:
        return list(self.history_of.get(request_id, []))

    async def page(self, q: c.ListQuery, tenant: str) -> Page[Application]:
        mine = [a for a in self.rows.values() if a.credit_code == tenant and not a.deleted]
        if q.status:
            mine = [a for a in mine if a.status == q.status]
        mine.sort(key=lambda a: a.created_at or NOW, reverse=True)
        return Page([copy.deepcopy(a) for a in mine[: q.limit]], len(mine), None)

    async def add(self, app: Application, effects: Effects) -> None:
        app.created_at = app.updated_at = NOW
        await self.save(app, effects)

    async def save(self, app: Application, effects: Effects) -> None:
        if effects.history:
            app.updated_at = NOW
        self.rows[app.id] = copy.deepcopy(app)
        for entry in effects.history:
            self.history_of.setdefault(app.id, []).append(
                c.HistoryEntry(
                    at=NOW,
                    actor=entry.by.name,
                    action=entry.action,
                    from_status=entry.from_status,
                    to_status=entry.to_status,
                    reason=entry.reason,
                )
            )
            self.audit.append((entry.by.login, f"REQUEST_{entry.action}", move_target(app, entry)))
        self.audit += [
            (e.by.login, "REQUEST_DELETE", app.request_no) for e in effects.events if isinstance(e, domain.Deleted)
        ]
        self.events.extend(effects.events)


class InMemoryStore(fakes.InMemoryStore[Applications]):
    def __init__(self) -> None:
        super().__init__(InMemoryApplications())
        self.apps = self.work


class Registry:
    """The registry's form check: an agreement code for any certificate, unless told of errors."""

    def __init__(self) -> None:
        self.asked: list[registry.FormCheck] = []
        self.errors: list[FieldError] = []

    async def __call__(self, q: registry.FormCheck) -> registry.FormCheckResult:
        self.asked.append(q)
        return registry.FormCheckResult(agreement_code=None if self.errors else "22", errors=self.errors)


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
def requests(store: InMemoryStore, the_registry: Registry) -> Requests:
    return Requests(store, the_registry, PinnedClock())


def published(store: InMemoryStore) -> list[str]:
    return [type(e).__name__ for e in store.apps.events]


async def refused(call: Any, status: int, code: str, message: str | None = None) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        await call
    assert (error.value.status, error.value.code) == (status, code)
    if message is not None:
        assert error.value.message == message
    return error.value


async def draft(requests: Requests, store: InMemoryStore, files: int = 1) -> c.CoordinationRequest:
    saved = await requests.create(c.CreateCommand(actor=ME, form=FORM))
    if files:
        await requests.attachments_changed(c.AttachmentsChanged(actor=ME, request_id=saved.id, count=files, damaged=0))
    store.apps.events.clear()
    return await requests.get(c.RequestRef(actor=ME, request_id=saved.id))


async def submitted(requests: Requests, store: InMemoryStore) -> c.CoordinationRequest:
    saved = await draft(requests, store)
    await requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id, version=saved.version))
    await requests.on_receipt_accepted(None, ReceiptAccepted(**_event(saved.id), case_id="case-1"))
    store.apps.events.clear()
    return await requests.get(c.RequestRef(actor=ME, request_id=saved.id))


def _event(request_id: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": NOW, "request_id": request_id}


# --- the enterprise --------------------------------------------------------------------------------


async def test_create_cleans_the_form_numbers_the_day_and_publishes(
    requests: Requests, store: InMemoryStore, the_registry: Registry
) -> None:
    first = await requests.create(c.CreateCommand(actor=ME, form=FORM))
    second = await requests.create(c.CreateCommand(actor=ME, form=FORM))

    assert (first.request_no, second.request_no) == ("XT20260311000001", "XT20260311000002")
    assert (first.status, first.status_label, first.version) == ("DRAFT", "暂存", 1)
    assert (first.import_country, first.import_port, first.certificate_no) == ("JP", "JPTYO", "K2631000000001")
    assert (first.agreement_code, first.proof_type_label) == ("22", "海关原产地证书")
    assert (first.credit_code, first.enterprise_name) == (ME.credit_code, ME.enterprise_name)
    assert first.editable and first.deletable and not first.withdrawable
    assert the_registry.asked[0] == registry.FormCheck(
        proof_type="CUSTOMS_CO", certificate_no="K2631000000001", import_country="JP", import_port="JPTYO"
    )
    assert published(store)[:2] == ["Created", "StatusChanged"]
    assert store.apps.events[1] == domain.StatusChanged(None, Status.DRAFT, None, 1)
    history = (await requests.get(c.RequestRef(actor=ME, request_id=first.id))).history
    assert [(h.action, h.from_status, h.to_status, h.actor) for h in history] == [("SAVE", None, "DRAFT", "张三")]
    # The history names the user as people know them, the audit trail by login name and the application by number.
    assert store.apps.audit == [
        ("demo", "REQUEST_SAVE", "XT20260311000001 ->DRAFT"),
        ("demo", "REQUEST_SAVE", "XT20260311000002 ->DRAFT"),
    ]


async def test_every_field_error_at_once_and_the_registry_asked_only_about_well_formed_ones(
    requests: Requests, store: InMemoryStore, the_registry: Registry
) -> None:
    the_registry.errors = [FieldError(field="importPort", message="进口国家/地区口岸不存在，请从列表中选择")]
    bad = c.RequestForm(
        proof_type="NOPE", import_country="JP", import_port="XXPORT", export_declaration_no="310120261000123456"
    )
    error = await refused(requests.create(c.CreateCommand(actor=ME, form=bad)), 422, "VALIDATION_FAILED")

    assert {f.field: f.message for f in error.fields} == {
        "proofType": "请选择享惠证明类型",
        "certificateNo": "请填写原产地证书号/声明号",
        "exportDeclarationNo": "出口报关单号应为18位数字，且第9位为0",
        "importDeclarationNo": "请填写进口报关单号",
        "reason": "请填写申请事由",
        "importPort": "进口国家/地区口岸不存在，请从列表中选择",
    }
    assert the_registry.asked == [
        registry.FormCheck(proof_type="", certificate_no="", import_country="JP", import_port="XXPORT")
    ]
    assert store.apps.rows == {} and store.apps.events == []


async def test_only_an_enterprise_applies(requests: Requests) -> None:
    await refused(requests.create(c.CreateCommand(actor=OFFICER, form=FORM)), 403, "FORBIDDEN")
    await refused(requests.list(c.ListQuery(actor=OFFICER)), 403, "FORBIDDEN")


async def test_save_keeps_a_draft_a_draft_and_makes_a_returned_one_a_draft_again(
    requests: Requests, store: InMemoryStore
) -> None:
    saved = await draft(requests, store)
    edited = msgspec.structs.replace(FORM, reason="新的事由")
    again = await requests.update(c.UpdateCommand(actor=ME, request_id=saved.id, version=saved.version, form=edited))
    assert (again.status, again.version, again.reason) == ("DRAFT", saved.version + 1, "新的事由")
    assert published(store) == ["Updated"]  # no status change

    pending = await submitted(requests, store)
    await requests.on_case_returned(
        None, CaseReturned(**_event(pending.id), case_id="k", officer="王关员", reason="补充")
    )
    back = await requests.get(c.RequestRef(actor=ME, request_id=pending.id))
    store.apps.events.clear()
    fixed = await requests.update(c.UpdateCommand(actor=ME, request_id=back.id, version=back.version, form=FORM))
    assert (fixed.status, fixed.status_reason) == ("DRAFT", None)
    assert published(store) == ["Updated", "StatusChanged"]
    assert store.apps.events[1] == domain.StatusChanged(Status.RETURNED, Status.DRAFT, None, fixed.version)


async def test_save_refused_once_submitted_and_on_a_stale_version(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    update = c.UpdateCommand(actor=ME, request_id=pending.id, version=pending.version, form=FORM)
    await refused(requests.update(update), 409, "INVALID_STATE", "当前状态不允许修改")

    saved = await draft(requests, store)
    stale = c.UpdateCommand(actor=ME, request_id=saved.id, version=saved.version - 1, form=FORM)
    await refused(requests.update(stale), 409, "VERSION_CONFLICT", "数据已被修改，请刷新后重试")
    assert store.apps.events == []


async def test_submit_stamps_the_time_and_sends_the_form(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    done = await requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id, version=saved.version))

    assert (done.status, done.submitted_at, done.version) == ("DECLARED", NOW, saved.version + 1)
    assert not done.editable
    assert published(store) == ["StatusChanged", "Submitted"]
    assert store.apps.events[0] == domain.StatusChanged(Status.DRAFT, Status.DECLARED, None, done.version)
    history = (await requests.get(c.RequestRef(actor=ME, request_id=saved.id))).history
    assert [(h.action, h.from_status, h.to_status, h.actor) for h in history][-1] == (
        "SUBMIT",
        "DRAFT",
        "DECLARED",
        "张三",
    )
    assert store.apps.audit[-1] == ("demo", "REQUEST_SUBMIT", f"{saved.request_no} DRAFT->DECLARED")


@pytest.mark.parametrize(
    ("files", "damaged", "revision_delta", "code", "message"),
    [
        (1, 0, -1, "ATTACHMENTS_CHANGED", "附件已变更，请刷新后重新提交"),
        (0, 0, 0, "ATTACHMENT_REQUIRED", "提交失败:请至少上传一个附件"),
        (1, 1, 0, "ATTACHMENT_DAMAGED", "附件已损坏，请删除后重新上传"),
    ],
)
async def test_submit_refusals_about_files(
    requests: Requests, store: InMemoryStore, files: int, damaged: int, revision_delta: int, code: str, message: str
) -> None:
    saved = await draft(requests, store, files=0)
    if files:
        await requests.attachments_changed(
            c.AttachmentsChanged(actor=ME, request_id=saved.id, count=files, damaged=damaged)
        )
    current = await requests.get(c.RequestRef(actor=ME, request_id=saved.id))
    command = c.TransitionCommand(
        actor=ME,
        request_id=saved.id,
        version=current.version,
        attachments_revision=current.attachments_revision + revision_delta,
    )
    status = 409 if code == "ATTACHMENTS_CHANGED" else 422
    await refused(requests.submit(command), status, code, message)
    assert (await requests.get(c.RequestRef(actor=ME, request_id=saved.id))).status == "DRAFT"


async def test_submit_refused_twice_and_on_a_stale_version(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    await refused(
        requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id, version=saved.version + 1)),
        409,
        "VERSION_CONFLICT",
    )
    await requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id))
    await refused(
        requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id)), 409, "INVALID_STATE", "当前状态不允许提交"
    )


async def test_withdraw_only_while_pending(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    await refused(
        requests.withdraw(c.TransitionCommand(actor=ME, request_id=saved.id)),
        409,
        "INVALID_STATE",
        "仅待办状态的申请可以撤回",
    )
    pending = await submitted(requests, store)
    assert pending.withdrawable
    done = await requests.withdraw(c.TransitionCommand(actor=ME, request_id=pending.id, version=pending.version))
    assert (done.status, done.editable, done.deletable) == ("WITHDRAWN", True, True)
    assert published(store) == ["StatusChanged", "Withdrawn"]


async def test_delete_keeps_the_row_but_hides_it(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    done = await requests.delete(c.TransitionCommand(actor=ME, request_id=saved.id, version=saved.version))

    assert done == c.Deleted(request_id=saved.id)
    assert store.apps.events == [domain.Deleted(domain.Who(name="张三", login="demo"))]
    assert store.apps.audit[-1] == ("demo", "REQUEST_DELETE", saved.request_no)
    assert store.apps.rows[uuid.UUID(saved.id)].deleted
    await refused(requests.get(c.RequestRef(actor=ME, request_id=saved.id)), 404, "REQUEST_NOT_FOUND")
    assert (await requests.list(c.ListQuery(actor=ME))).total == 0


async def test_delete_refused_while_with_customs(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    await refused(
        requests.delete(c.TransitionCommand(actor=ME, request_id=pending.id)),
        409,
        "DELETE_NOT_ALLOWED",
        "当前状态不允许删除",
    )
    assert store.apps.events == []


# --- the attachment service ------------------------------------------------------------------------


async def test_attachment_changes_count_while_editable_and_are_frozen_after(
    requests: Requests, store: InMemoryStore
) -> None:
    saved = await draft(requests, store, files=0)
    told = await requests.attachments_changed(c.AttachmentsChanged(actor=ME, request_id=saved.id, count=2))
    assert told.attachments_revision == saved.attachments_revision + 1
    after = await requests.get(c.RequestRef(actor=ME, request_id=saved.id))
    assert (after.attachment_count, after.version, after.updated_at) == (2, saved.version, saved.updated_at)

    pending = await submitted(requests, store)
    await refused(
        requests.attachments_changed(c.AttachmentsChanged(actor=ME, request_id=pending.id, count=0)),
        409,
        "ATTACHMENTS_FROZEN",
        "当前状态不允许变更附件",
    )


async def test_damaged_files_are_told_in_any_status_and_block_a_submit(
    requests: Requests, store: InMemoryStore
) -> None:
    pending = await submitted(requests, store)
    told = await requests.attachments_damaged(c.AttachmentsDamaged(request_id=pending.id, damaged=-3))
    assert told.attachments_revision == pending.attachments_revision
    assert store.apps.rows[uuid.UUID(pending.id)].damaged_attachments == 0

    saved = await draft(requests, store)
    await requests.attachments_damaged(c.AttachmentsDamaged(request_id=saved.id, damaged=1))
    await refused(requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id)), 422, "ATTACHMENT_DAMAGED")
    await refused(
        requests.attachments_damaged(c.AttachmentsDamaged(request_id=str(uuid.uuid4()), damaged=1)),
        404,
        "REQUEST_NOT_FOUND",
    )


# --- customs, by events ----------------------------------------------------------------------------


async def test_receipt_accepted_or_rejected(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    await requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id))
    store.apps.events.clear()
    await requests.on_receipt_rejected(None, ReceiptRejected(**_event(saved.id), reason="原产地证书（声明）已被撤销"))
    failed = await requests.get(c.RequestRef(actor=ME, request_id=saved.id))
    assert (failed.status, failed.status_reason, failed.editable) == (
        "RECEIPT_FAILED",
        "原产地证书（声明）已被撤销",
        True,
    )
    assert store.apps.events == [
        domain.StatusChanged(Status.DECLARED, Status.RECEIPT_FAILED, "原产地证书（声明）已被撤销", failed.version)
    ]
    assert (failed.history[-1].actor, failed.history[-1].action) == ("海关", "RECEIPT_REJECT")
    assert store.apps.audit[-1] == ("海关", "REQUEST_RECEIPT_REJECT", f"{saved.request_no} DECLARED->RECEIPT_FAILED")

    await requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id))
    await requests.on_receipt_accepted(None, ReceiptAccepted(**_event(saved.id), case_id="k"))
    pending = await requests.get(c.RequestRef(actor=ME, request_id=saved.id))
    assert (pending.status, pending.status_label, pending.status_reason) == ("PENDING", "待办", None)
    assert store.apps.audit[-1] == ("海关", "REQUEST_RECEIPT_ACCEPT", f"{saved.request_no} DECLARED->PENDING")


def test_customs_own_moves_are_audited_under_a_name_no_user_can_log_in_with() -> None:
    assert domain.CUSTOMS == domain.Who(name="海关", login="海关")
    assert not USERNAME.match(domain.CUSTOMS.login)


async def test_a_late_receipt_changes_nothing(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    await requests.on_receipt_rejected(None, ReceiptRejected(**_event(pending.id), reason="迟到"))
    await requests.on_receipt_accepted(None, ReceiptAccepted(**_event(str(uuid.uuid4())), case_id="k"))  # unknown
    assert (await requests.get(c.RequestRef(actor=ME, request_id=pending.id))).version == pending.version
    assert store.apps.events == []


async def test_officers_accept_then_conclude(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    await requests.on_case_accepted(
        None,
        CaseAccepted(
            **_event(pending.id),
            case_id="k",
            officer="王关员",
            officer_username="officer",
            request_version=pending.version,
        ),
    )
    coordinating = await requests.get(c.RequestRef(actor=OFFICER, request_id=pending.id))
    assert (coordinating.status, coordinating.history[-1].actor) == ("COORDINATING", "王关员")
    assert store.apps.audit[-1] == ("officer", "REQUEST_ACCEPT", f"{pending.request_no} PENDING->COORDINATING")

    await requests.on_case_concluded(
        None,
        CaseConcluded(
            **_event(pending.id),
            case_id="k",
            officer="王关员",
            officer_username="officer",
            request_version=coordinating.version,
            outcome="SUCCESS",
            reply="已与进口国海关协调成功",
        ),
    )
    done = await requests.get(c.RequestRef(actor=ME, request_id=pending.id))
    assert (done.status, done.outcome, done.outcome_label) == ("CONCLUDED", "SUCCESS", "协调成功")
    assert (done.history[-1].actor, store.apps.audit[-1][0]) == ("王关员", "officer")
    assert done.reply == done.status_reason == "已与进口国海关协调成功"
    assert published(store) == ["StatusChanged", "StatusChanged"]


async def test_an_officers_return_keeps_its_reason(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    await requests.on_case_returned(
        None,
        CaseReturned(**_event(pending.id), case_id="k", officer="王关员", officer_username="officer", reason="补"),
    )
    returned = await requests.get(c.RequestRef(actor=ME, request_id=pending.id))
    assert (returned.status, returned.status_reason, returned.outcome, returned.reply) == ("RETURNED", "补", None, None)
    assert (returned.history[-1].reason, returned.history[-1].actor) == ("补", "王关员")
    assert store.apps.audit[-1] == ("officer", "REQUEST_RETURN", f"{pending.request_no} PENDING->RETURNED")


async def test_a_decision_from_an_older_customs_desk_is_audited_under_the_officers_display_name(
    requests: Requests, store: InMemoryStore
) -> None:
    """Events published before they carried the officer's login name name the officer by display name only."""
    pending = await submitted(requests, store)
    published_before = {
        "eventId": str(uuid.uuid4()),
        "occurredAt": NOW.isoformat(),
        "requestId": pending.id,
        "caseId": "k",
        "officer": "王关员",
        "requestVersion": pending.version,
    }
    event = msgspec.json.decode(msgspec.json.encode(published_before), type=CaseAccepted)
    await requests.on_case_accepted(None, event)
    accepted = await requests.get(c.RequestRef(actor=ME, request_id=pending.id))
    assert (accepted.status, accepted.history[-1].actor) == ("COORDINATING", "王关员")
    assert store.apps.audit[-1] == ("王关员", "REQUEST_ACCEPT", f"{pending.request_no} PENDING->COORDINATING")


async def test_a_decision_on_a_status_that_moved_on_is_refused_back_to_customs(
    requests: Requests, store: InMemoryStore
) -> None:
    pending = await submitted(requests, store)
    await requests.withdraw(c.TransitionCommand(actor=ME, request_id=pending.id))
    store.apps.events.clear()
    await requests.on_case_accepted(None, CaseAccepted(**_event(pending.id), case_id="k", officer="王关员"))

    withdrawn = await requests.get(c.RequestRef(actor=ME, request_id=pending.id))
    assert withdrawn.status == "WITHDRAWN"
    assert store.apps.events == [
        domain.DecisionRefused(Action.ACCEPT, Status.WITHDRAWN, withdrawn.version, "受理未生效：申请当前状态为“已撤回”")
    ]


async def test_a_decision_on_a_version_since_left_is_refused(requests: Requests, store: InMemoryStore) -> None:
    pending = await submitted(requests, store)
    await requests.on_case_returned(
        None,
        CaseReturned(
            **_event(pending.id), case_id="k", officer="王关员", reason="r", request_version=pending.version - 1
        ),
    )
    assert (await requests.get(c.RequestRef(actor=ME, request_id=pending.id))).status == "PENDING"
    assert store.apps.events == [
        domain.DecisionRefused(Action.RETURN, Status.PENDING, pending.version, "退回未生效：申请当前状态为“待办”")
    ]


# --- tenant scope --------------------------------------------------------------------------------


async def test_another_enterprises_application_is_not_found(requests: Requests, store: InMemoryStore) -> None:
    saved = await draft(requests, store)
    rid = saved.id
    for call in (
        requests.get(c.RequestRef(actor=OTHER, request_id=rid)),
        requests.update(c.UpdateCommand(actor=OTHER, request_id=rid, version=saved.version, form=FORM)),
        requests.submit(c.TransitionCommand(actor=OTHER, request_id=rid)),
        requests.withdraw(c.TransitionCommand(actor=OTHER, request_id=rid)),
        requests.delete(c.TransitionCommand(actor=OTHER, request_id=rid)),
        requests.attachments_changed(c.AttachmentsChanged(actor=OTHER, request_id=rid, count=0)),
        requests.get(c.RequestRef(actor=ME, request_id="not-a-uuid")),
    ):
        await refused(call, 404, "REQUEST_NOT_FOUND", "协调申请不存在")
    assert (await requests.list(c.ListQuery(actor=OTHER))).total == 0
    assert (await requests.get(c.RequestRef(actor=OFFICER, request_id=rid))).id == rid  # officers read them all
    assert (await requests.get(c.RequestRef(actor=ME, request_id=rid))).version == saved.version
    assert store.apps.events == []


async def test_list_shows_the_enterprises_own_newest_first(requests: Requests, store: InMemoryStore) -> None:
    await requests.create(c.CreateCommand(actor=ME, form=FORM))
    await submitted(requests, store)
    page = await requests.list(c.ListQuery(actor=ME, status="PENDING"))
    assert [(a.status, a.credit_code) for a in page.items] == [("PENDING", ME.credit_code)] and page.total == 1


# --- Idempotency-Keys -------------------------------------------------------------------------------

KEY = IdempotencyKey(key="k1", fingerprint="f1")


async def test_a_retried_create_returns_the_first_application_and_creates_nothing_more(
    requests: Requests, store: InMemoryStore, the_registry: Registry
) -> None:
    first = await requests.create(c.CreateCommand(actor=ME, form=FORM, idempotency=KEY))
    again = await requests.create(c.CreateCommand(actor=ME, form=FORM, idempotency=KEY))

    assert again == first
    assert len(store.apps.rows) == 1 and published(store) == ["Created", "StatusChanged"]
    assert len(the_registry.asked) == 1  # the retry was answered before the registry was asked again
    # Another user's same key is another key; a command without a key always runs.
    colleague = msgspec.structs.replace(ME, user_id="u9")
    theirs = await requests.create(c.CreateCommand(actor=colleague, form=FORM, idempotency=KEY))
    unkeyed = await requests.create(c.CreateCommand(actor=ME, form=FORM))
    assert len({first.id, theirs.id, unkeyed.id}) == 3 and len(store.apps.rows) == 3


async def test_the_same_key_with_another_request_is_refused_and_a_refusal_leaves_the_key_free(
    requests: Requests, store: InMemoryStore, the_registry: Registry
) -> None:
    saved = await draft(requests, store)
    key = IdempotencyKey(key="withdraw-1", fingerprint="f")
    # Refused (not 待办): nothing happened, so the key is not bound to it.
    await refused(
        requests.withdraw(c.TransitionCommand(actor=ME, request_id=saved.id, idempotency=key)), 409, "INVALID_STATE"
    )
    submit = c.TransitionCommand(actor=ME, request_id=saved.id, version=saved.version, idempotency=key)
    first = await requests.submit(submit)
    assert first.status == "DECLARED"
    assert await requests.submit(submit) == first
    other = IdempotencyKey(key=key.key, fingerprint="another body")
    await refused(
        requests.submit(c.TransitionCommand(actor=ME, request_id=saved.id, idempotency=other)),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert published(store).count("Submitted") == 1
