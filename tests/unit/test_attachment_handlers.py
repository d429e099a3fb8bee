"""attachment's handlers against an in-memory store, an in-memory bucket and a coordination-request that answers
as told: every endpoint's success and refusals with their codes, tenant scope, idempotent replay, the events each
change records, the reconciler, and a change coordination-request counted but our commit lost."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.attachment import domain, scanner
from services.attachment.applications import Applications
from services.attachment.domain import Application, ApplicationFiles, Attachment, Damage, Effects, Limits
from services.attachment.reconciler import Reconciler
from services.attachment.repository import Attachments, Store
from services.attachment.service import LIMITS, AttachmentService
from services.attachment.storage import Objects, StorageUnavailable
from shared.contracts import attachment as c
from shared.contracts.common import Actor, Empty
from shared.contracts.events import RequestDeleted
from shared.contracts.idempotency import IdempotencyKey
from shared.errors import InvalidState, NotFound, ServiceError, Unavailable
from tests.unit.fakes import InMemoryKeys

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
ME = Actor(user_id="u1", username="demo", display_name="张三", role="ENTERPRISE", credit_code="91310115MA1K4B2X0T")
OTHER = Actor(user_id="u2", username="demo2", display_name="李四", role="ENTERPRISE", credit_code="91330200MA2H8XYZ1Q")
OFFICER = Actor(user_id="o1", username="officer", display_name="王关员", role="OFFICER")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"IEND\xaeB`\x82"
SMALL = Limits(file_bytes=LIMITS.file_bytes, files=2, total_bytes=2 * len(PDF) + 10)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- the fakes ------------------------------------------------------------------------------------------------


class InMemoryAttachments(InMemoryKeys, Attachments):
    """The rows in a dictionary; what each change caused is kept in a list, in the order it was written."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Attachment] = {}
        self.deleted: set[uuid.UUID] = set()
        self.missing: set[uuid.UUID] = set()
        self.events: list[domain.Event] = []
        self.keys: dict[tuple[str, str], tuple[str, bytes | None]] = {}  # (user, key) -> (fingerprint, reply)
        self.locked: list[uuid.UUID] = []

    def _live(self, request_id: uuid.UUID) -> list[Attachment]:
        files = [f for f in self.rows.values() if f.request_id == request_id and f.id not in self.deleted]
        return [copy.deepcopy(f) for f in sorted(files, key=lambda f: f.created_at or NOW)]

    async def lock(self, request_id: uuid.UUID) -> ApplicationFiles:
        self.locked.append(request_id)
        return await self.files_of(request_id)

    async def files_of(self, request_id: uuid.UUID) -> ApplicationFiles:
        return ApplicationFiles(request_id, self._live(request_id))

    async def listed(self, request_id: uuid.UUID, tenant: str | None) -> list[Attachment]:
        return [f for f in self._live(request_id) if tenant in (None, f.credit_code)]

    async def find(self, request_id: uuid.UUID, attachment_id: uuid.UUID, tenant: str | None) -> Attachment | None:
        return next((f for f in await self.listed(request_id, tenant) if f.id == attachment_id), None)

    async def save(self, effects: Effects) -> None:
        for event in effects.events:
            match event:
                case domain.Added(file=file):
                    file.created_at = NOW + timedelta(seconds=len(self.rows))
                    self.rows[file.id] = copy.deepcopy(file)
                case domain.Removed(file=file):
                    self.deleted.add(file.id)
                case domain.Flagged(file=file, damage=damage):
                    self.rows[file.id].damaged = True
                    if damage is Damage.MISSING:
                        self.missing.add(file.id)
        self.events.extend(effects.events)

    async def live_keys(self, before: datetime) -> set[str]:
        return {f.s3_key for f in self.rows.values() if f.id not in self.deleted and (f.created_at or NOW) < before}

    async def flag_missing(self, keys: list[str]) -> list[uuid.UUID]:
        flagged = [f.id for f in self.rows.values() if f.s3_key in keys and f.id not in self.missing]
        for attachment_id in flagged:
            self.missing.add(attachment_id)
            self.rows[attachment_id].damaged = True
        return flagged

    async def damaged_requests(self) -> list[uuid.UUID]:
        return sorted({f.request_id for f in self.rows.values() if f.damaged and f.id not in self.deleted})


class CommitLost(ConnectionResetError):
    """The database connection dropped as the transaction committed."""


class InMemoryStore(Store):
    """One set of rows; a transaction that raises, or whose commit is lost, leaves it as it was."""

    def __init__(self) -> None:
        self.data = InMemoryAttachments()
        self.commits_to_lose = 0
        self.reconciler_busy = False  # another replica holds the reconciler's lock

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Attachments]:
        before = copy.deepcopy({k: v for k, v in self.data.__dict__.items() if k != "locked"})
        try:
            yield self.data
            if self.commits_to_lose:
                self.commits_to_lose -= 1
                raise CommitLost()
        except BaseException:
            self.data.__dict__.update(before)
            raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Attachments]:
        yield self.data

    def within(self, conn: Any) -> Attachments:
        return self.data

    @asynccontextmanager
    async def reconciling(self) -> AsyncIterator[Attachments | None]:
        yield None if self.reconciler_busy else self.data


class InMemoryBucket(Objects):
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, datetime, dict[str, str]]] = {}
        self.available = True
        self.before_put: Callable[[], Any] | None = None  # runs once, as a put begins (another request meanwhile)

    def _reachable(self) -> None:
        if not self.available:
            raise StorageUnavailable()

    async def put(self, key: str, content: bytes, *, content_type: str, sha256: str) -> None:
        self._reachable()
        if self.before_put is not None:
            meanwhile, self.before_put = self.before_put, None
            await meanwhile()
        self.objects[key] = (content, NOW, {"content_type": content_type, "sha256": sha256})

    async def read(self, key: str) -> bytes | None:
        self._reachable()
        return self.objects[key][0] if key in self.objects else None

    async def listing(self) -> dict[str, datetime]:
        self._reachable()
        return {key: modified for key, (_, modified, _) in self.objects.items()}

    async def remove(self, key: str) -> None:
        self._reachable()
        self.objects.pop(key, None)

    async def remove_quietly(self, key: str) -> None:
        if self.available:
            self.objects.pop(key, None)


@dataclass
class Kept:
    """An application as coordination-request keeps it, with what it was told about the files."""

    credit_code: str
    request_no: str
    editable: bool = True
    submitted: bool = False
    revision: int = 0
    count: int = 0
    damaged: int = 0


class CoordinationRequest(Applications):
    """coordination-request's answers: the application as its caller may see it, and the files' news."""

    def __init__(self) -> None:
        self.kept: dict[uuid.UUID, Kept] = {}
        self.changes: list[tuple[int, int]] = []  # every (count, damaged) it accepted, in order
        self.reachable_for: int | None = None  # how many more changes reach it before it stops answering
        self.lose_next_answer = False  # the next change is accepted, but its answer never comes back

    def draft(self, actor: Actor = ME) -> str:
        request_id = uuid.uuid4()
        self.kept[request_id] = Kept(actor.credit_code or "", f"XT20260310{len(self.kept) + 1:06d}")
        return str(request_id)

    def submit(self, request_id: str) -> None:
        app = self.kept[uuid.UUID(request_id)]
        app.editable, app.submitted = False, True

    async def get(self, actor: Actor, request_id: str) -> Application:
        try:
            app = self.kept.get(uuid.UUID(request_id))
        except ValueError:
            app = None
        if app is None or (actor.role != "OFFICER" and app.credit_code != actor.credit_code):
            raise NotFound("协调申请不存在", code="REQUEST_NOT_FOUND")
        return Application(
            id=uuid.UUID(request_id),
            request_no=app.request_no,
            credit_code=app.credit_code,
            editable=app.editable,
            submitted=app.submitted,
        )

    async def files_changed(self, actor: Actor, request_id: uuid.UUID, *, count: int, damaged: int) -> None:
        if self.reachable_for is not None:
            if self.reachable_for == 0:
                raise Unavailable()
            self.reachable_for -= 1
        app = self.kept[request_id]
        if not app.editable:
            raise InvalidState("当前状态不允许变更附件", code="ATTACHMENTS_FROZEN")
        app.revision, app.count, app.damaged = app.revision + 1, count, damaged
        self.changes.append((count, damaged))
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise Unavailable()  # the caller's wait timed out

    async def files_damaged(self, request_id: uuid.UUID, damaged: int) -> None:
        if request_id not in self.kept:
            raise NotFound(code="REQUEST_NOT_FOUND")
        self.kept[request_id].damaged = damaged


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def bucket() -> InMemoryBucket:
    return InMemoryBucket()


@pytest.fixture
def coordination() -> CoordinationRequest:
    return CoordinationRequest()


@pytest.fixture
def service(store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest) -> AttachmentService:
    return AttachmentService(store, bucket, coordination)


async def refused(call: Any, status: int, code: str, message: str | None = None) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        await call
    assert (error.value.status, error.value.code) == (status, code)
    if message is not None:
        assert error.value.message == message
    return error.value


def key(name: str, asked: str = "the same request") -> IdempotencyKey:
    return IdempotencyKey(key=name, fingerprint=hashlib.sha256(asked.encode()).hexdigest())


def upload(request_id: str, content: bytes = PDF, filename: str = "证明材料.pdf", **kw: Any) -> c.UploadCommand:
    return c.UploadCommand(actor=kw.pop("actor", ME), request_id=request_id, filename=filename, content=content, **kw)


def ref(request_id: str, attachment_id: str, actor: Actor = ME, **kw: Any) -> c.AttachmentRef:
    return c.AttachmentRef(actor=actor, request_id=request_id, attachment_id=attachment_id, **kw)


def changes(store: InMemoryStore) -> list[tuple[str, str, str | None]]:
    """What the changes recorded: (event, file name, by whom)."""
    return [(type(e).__name__, e.file.filename, getattr(e, "by", None)) for e in store.data.events]


def audited(store: InMemoryStore) -> list[tuple[str, str, str]]:
    """What the audit trail records of the changes: (event, actor, target); a removal with its application is
    audited there."""
    return [(type(e).__name__, e.by, e.file.audit_target) for e in store.data.events if getattr(e, "by", None)]


# --- upload ------------------------------------------------------------------------------------------------


async def test_an_upload_keeps_the_file_and_its_object_and_tells_coordination_request(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id, filename="../../证明\r\n材料.pdf"))

    assert (info.request_id, info.filename, info.content_type, info.size) == (
        request_id,
        "证明材料.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (info.sha256, info.created_at, info.damaged) == (hashlib.sha256(PDF).hexdigest(), NOW, False)
    content, _, meta = bucket.objects[f"{ME.credit_code}/{request_id}/{info.id}"]
    assert content == PDF and meta == {"content_type": "application/pdf", "sha256": info.sha256}
    assert changes(store) == [("Added", "证明材料.pdf", "demo")]
    # The audit trail names the file by its application's 协调单号, its name and its id; the actor by login name.
    assert audited(store) == [("Added", "demo", f"XT20260310000001/证明材料.pdf ({info.id})")]
    kept_file = store.data.rows[uuid.UUID(info.id)]
    assert (kept_file.created_by, kept_file.request_no) == ("u1", "XT20260310000001")
    assert store.data.locked == [uuid.UUID(request_id)]  # the limits were counted with the files held
    assert coordination.kept[uuid.UUID(request_id)] == Kept(
        ME.credit_code or "", "XT20260310000001", revision=1, count=1, damaged=0
    )
    listed = await service.list(c.ListAttachments(actor=ME, request_id=request_id))
    assert listed.items == [info]


@pytest.mark.parametrize(
    ("actor", "message"),
    [
        (OFFICER, "仅企业用户可以上传附件"),
        (Actor(user_id="u3", username="x", display_name="x", role="ENTERPRISE"), "仅企业用户可以上传附件"),
    ],
)
async def test_only_an_enterprise_uploads(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest, actor: Actor, message: str
) -> None:
    await refused(service.upload(upload(coordination.draft(), actor=actor)), 403, "FORBIDDEN", message)
    assert store.data.rows == {}


@pytest.mark.parametrize(
    ("content", "status", "code", "message"),
    [
        (PDF[:-6] + b"0" * (c.MAX_BYTES - len(PDF) + 1) + b"%%EOF\n", 413, "FILE_TOO_LARGE", "文件大小不能超过4M"),
        (b"", 400, "EMPTY_FILE", "不能上传空文件"),
        (b"MZ\x90\x00" + b"\x00" * 64, 415, "UNSUPPORTED_FILE_TYPE", "仅支持PDF、JPG、PNG、OFD格式的文件"),
    ],
)
async def test_a_file_refused_by_its_bytes_is_never_stored(
    service: AttachmentService,
    store: InMemoryStore,
    bucket: InMemoryBucket,
    coordination: CoordinationRequest,
    content: bytes,
    status: int,
    code: str,
    message: str,
) -> None:
    request_id = coordination.draft()
    await refused(service.upload(upload(request_id, content=content)), status, code, message)
    assert (store.data.rows, bucket.objects, coordination.changes) == ({}, {}, [])


async def test_four_mebibytes_exactly_are_accepted(
    service: AttachmentService, coordination: CoordinationRequest
) -> None:
    exact = PDF[:-6] + b"0" * (c.MAX_BYTES - len(PDF)) + b"%%EOF\n"
    assert (await service.upload(upload(coordination.draft(), content=exact))).size == c.MAX_BYTES


async def test_no_upload_to_another_enterprises_application_nor_once_submitted(
    service: AttachmentService, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    theirs = coordination.draft(OTHER)
    await refused(service.upload(upload(theirs)), 404, "REQUEST_NOT_FOUND", "协调申请不存在")
    mine = coordination.draft()
    coordination.submit(mine)
    await refused(service.upload(upload(mine)), 409, "INVALID_STATE", "当前状态不允许上传附件")
    assert bucket.objects == {}


async def test_at_most_so_many_files_and_bytes_per_application(
    store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    service = AttachmentService(store, bucket, coordination, limits=SMALL)
    request_id = coordination.draft()
    await service.upload(upload(request_id))
    await refused(
        service.upload(upload(request_id, content=PDF + b" " * 11)),
        422,
        "ATTACHMENT_LIMIT_SIZE",
        "每个申请的附件总大小不能超过100M",
    )
    await service.upload(upload(request_id))
    await refused(service.upload(upload(request_id)), 422, "ATTACHMENT_LIMIT_COUNT", "每个申请最多上传30个附件")
    assert len(bucket.objects) == 2  # refused before the bytes were stored
    assert coordination.changes == [(1, 0), (2, 0)]


async def test_the_limits_hold_when_another_upload_commits_while_this_one_is_stored(
    store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    service = AttachmentService(store, bucket, coordination, limits=SMALL)
    request_id = coordination.draft()
    await service.upload(upload(request_id))
    bucket.before_put = lambda: service.upload(upload(request_id, filename="first.pdf"))
    await refused(service.upload(upload(request_id, filename="second.pdf")), 422, "ATTACHMENT_LIMIT_COUNT")
    assert sorted(f.filename for f in store.data.rows.values()) == ["first.pdf", "证明材料.pdf"]
    assert len(bucket.objects) == 2  # the refused upload's object is gone
    assert coordination.kept[uuid.UUID(request_id)].count == 2


async def test_a_submit_while_the_file_is_stored_refuses_the_upload_and_drops_its_object(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()

    async def submitted() -> None:
        coordination.submit(request_id)

    bucket.before_put = submitted
    await refused(
        service.upload(upload(request_id, idempotency=key("k1"))), 409, "INVALID_STATE", "当前状态不允许变更附件"
    )
    assert (store.data.rows, store.data.events, store.data.keys, bucket.objects) == ({}, [], {}, {})
    assert coordination.kept[uuid.UUID(request_id)].revision == 0


async def test_an_infected_file_or_a_silent_scanner_refuses_the_upload(
    store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    async def finds_eicar(content: bytes) -> str | None:
        return "Eicar-Test-Signature"

    async def down(content: bytes) -> str | None:
        raise scanner.ScannerUnavailable("ConnectionRefusedError")

    request_id = coordination.draft()
    infected = AttachmentService(store, bucket, coordination, scan=finds_eicar)
    await refused(infected.upload(upload(request_id)), 422, "VIRUS_FOUND", "文件未通过病毒检查，不能上传")
    silent = AttachmentService(store, bucket, coordination, scan=down)
    await refused(silent.upload(upload(request_id)), 503, "SERVICE_UNAVAILABLE", "病毒检查服务暂不可用，请稍后重试")
    assert (store.data.rows, bucket.objects) == ({}, {})


async def test_with_s3_down_an_upload_is_refused_as_unavailable(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    bucket.available = False
    await refused(
        service.upload(upload(coordination.draft())), 503, "SERVICE_UNAVAILABLE", "文件存储暂时不可用，请稍后重试"
    )
    assert store.data.rows == {} and coordination.changes == []


async def test_a_retried_upload_gets_its_first_file_back_even_once_submitted(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    first = await service.upload(upload(request_id, idempotency=key("k1")))
    again = await service.upload(upload(request_id, idempotency=key("k1")))
    coordination.submit(request_id)
    late = await service.upload(upload(request_id, idempotency=key("k1")))

    assert first == again == late
    assert len(store.data.rows) == len(bucket.objects) == 1
    assert changes(store) == [("Added", "证明材料.pdf", "demo")] and coordination.changes == [(1, 0)]
    await refused(
        service.upload(upload(request_id, content=PNG, idempotency=key("k1", "another file"))),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )


async def test_a_concurrent_try_of_the_same_upload_replays_the_first_and_drops_its_spare_object(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    firsts: list[c.AttachmentInfo] = []

    async def first_try_commits() -> None:
        firsts.append(await service.upload(upload(request_id, idempotency=key("k1"))))

    bucket.before_put = first_try_commits
    second = await service.upload(upload(request_id, idempotency=key("k1")))
    assert second == firsts[0]
    assert list(bucket.objects) == [f"{ME.credit_code}/{request_id}/{second.id}"]
    assert len(store.data.rows) == 1 and coordination.changes == [(1, 0)]


# --- list and download ---------------------------------------------------------------------------------------


async def test_the_list_is_the_enterprises_own_and_officers_see_it_once_submitted(
    service: AttachmentService, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    a = await service.upload(upload(request_id, filename="a.pdf"))
    b = await service.upload(upload(request_id, content=PNG, filename="b.png"))
    mine = await service.list(c.ListAttachments(actor=ME, request_id=request_id))
    assert [i.id for i in mine.items] == [a.id, b.id]  # oldest first

    await refused(service.list(c.ListAttachments(actor=OTHER, request_id=request_id)), 404, "REQUEST_NOT_FOUND")
    await refused(
        service.list(c.ListAttachments(actor=OFFICER, request_id=request_id)),
        404,
        "REQUEST_NOT_FOUND",
        "协调申请不存在",
    )
    coordination.submit(request_id)
    assert (await service.list(c.ListAttachments(actor=OFFICER, request_id=request_id))).items == mine.items


async def test_a_download_serves_the_uploaded_bytes_and_is_audited(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    got = await service.download(ref(request_id, info.id))
    assert (got.info, got.content) == (info, PDF)
    assert changes(store)[-1] == ("Downloaded", "证明材料.pdf", "demo")
    assert audited(store)[-1] == ("Downloaded", "demo", f"XT20260310000001/证明材料.pdf ({info.id})")


def test_a_file_kept_before_its_application_number_is_audited_by_the_applications_id() -> None:
    file = Attachment(
        id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        credit_code=ME.credit_code or "",
        filename="证明材料.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        s3_key="k",
        created_by="u1",
    )
    assert file.audit_target == f"{file.request_id}/证明材料.pdf ({file.id})"


async def test_downloads_are_scoped_to_the_enterprise_and_to_submitted_applications_for_officers(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    for attempt in (
        ref(request_id, info.id, OTHER),
        ref(request_id, info.id, OFFICER),  # never submitted
        ref(request_id, str(uuid.uuid4())),
        ref(request_id, "not-an-id"),
        ref("not-an-id", info.id),
    ):
        await refused(service.download(attempt), 404, "ATTACHMENT_NOT_FOUND", "附件不存在")
    nobody = Actor(user_id="u3", username="x", display_name="x", role="ENTERPRISE")
    await refused(service.download(ref(request_id, info.id, nobody)), 403, "FORBIDDEN")

    coordination.submit(request_id)
    assert (await service.download(ref(request_id, info.id, OFFICER))).content == PDF
    assert [e for e in changes(store) if e[0] == "Downloaded"] == [("Downloaded", "证明材料.pdf", "officer")]
    assert audited(store)[-1] == ("Downloaded", "officer", f"XT20260310000001/证明材料.pdf ({info.id})")


@pytest.mark.parametrize(
    ("spoil", "status", "code", "damage"),
    [
        (lambda objects, key: objects.pop(key), 500, "ATTACHMENT_MISSING", Damage.MISSING),
        (
            lambda objects, key: objects.__setitem__(key, (PDF.replace(b"trailer", b"TRAILER"), NOW, {})),
            500,
            "ATTACHMENT_CORRUPTED",
            Damage.CORRUPTED,
        ),
    ],
)
async def test_a_damaged_file_is_never_served_but_flagged_and_reported_in_any_status(
    service: AttachmentService,
    store: InMemoryStore,
    bucket: InMemoryBucket,
    coordination: CoordinationRequest,
    spoil: Callable[[dict, str], Any],
    status: int,
    code: str,
    damage: Damage,
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    coordination.submit(request_id)
    spoil(bucket.objects, f"{ME.credit_code}/{request_id}/{info.id}")

    await refused(service.download(ref(request_id, info.id, OFFICER)), status, code)
    flagged = store.data.events[-1]
    assert isinstance(flagged, domain.Flagged) and (flagged.file.id, flagged.damage) == (uuid.UUID(info.id), damage)
    assert coordination.kept[uuid.UUID(request_id)].damaged == 1
    assert (await service.list(c.ListAttachments(actor=ME, request_id=request_id))).items[0].damaged


async def test_with_s3_down_a_download_is_refused_as_unavailable(
    service: AttachmentService, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    bucket.available = False
    await refused(service.download(ref(request_id, info.id)), 503, "SERVICE_UNAVAILABLE")
    assert (await service.list(c.ListAttachments(actor=ME, request_id=request_id))).items == [info]


# --- delete ----------------------------------------------------------------------------------------------------


async def test_a_delete_removes_the_file_and_its_object_and_tells_coordination_request(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    kept = await service.upload(upload(request_id, content=PNG, filename="b.png"))

    assert await service.delete(ref(request_id, info.id)) == info
    assert changes(store)[-1] == ("Removed", "证明材料.pdf", "demo")
    assert audited(store)[-1] == ("Removed", "demo", f"XT20260310000001/证明材料.pdf ({info.id})")
    assert list(bucket.objects) == [f"{ME.credit_code}/{request_id}/{kept.id}"]
    assert coordination.changes[-1] == (1, 0)
    assert (await service.list(c.ListAttachments(actor=ME, request_id=request_id))).items == [kept]
    await refused(service.delete(ref(request_id, info.id)), 404, "ATTACHMENT_NOT_FOUND", "附件不存在")


async def test_delete_refusals(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest
) -> None:
    request_id, elsewhere = coordination.draft(), coordination.draft()
    info = await service.upload(upload(request_id))
    await refused(service.delete(ref(request_id, info.id, OFFICER)), 403, "FORBIDDEN", "仅企业用户可以删除附件")
    await refused(service.delete(ref(request_id, info.id, OTHER)), 404, "REQUEST_NOT_FOUND")
    await refused(service.delete(ref(elsewhere, info.id)), 404, "ATTACHMENT_NOT_FOUND")  # not that application's
    await refused(service.delete(ref(request_id, "not-an-id")), 404, "ATTACHMENT_NOT_FOUND")
    coordination.submit(request_id)
    await refused(service.delete(ref(request_id, info.id)), 409, "INVALID_STATE", "当前状态不允许删除附件")
    assert changes(store) == [("Added", "证明材料.pdf", "demo")]


async def test_a_retried_delete_gets_its_first_answer(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    first = await service.delete(ref(request_id, info.id, idempotency=key("d1")))
    again = await service.delete(ref(request_id, info.id, idempotency=key("d1")))
    assert first == again == info
    assert [e[0] for e in changes(store)] == ["Added", "Removed"] and coordination.changes == [(1, 0), (0, 0)]


async def test_a_deleted_application_takes_its_files_and_objects_with_it(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    gone, other = coordination.draft(), coordination.draft()
    await service.upload(upload(gone, filename="a.pdf"))
    await service.upload(upload(gone, content=PNG, filename="b.png"))
    kept = await service.upload(upload(other))
    store.data.events.clear()

    event = dict(event_id=str(uuid.uuid4()), occurred_at=NOW, request_id=gone)
    await service.on_request_deleted(None, RequestDeleted(**event, credit_code=OTHER.credit_code or ""))
    assert store.data.events == []  # another enterprise's credit code: nothing of theirs here
    await service.on_request_deleted(None, RequestDeleted(**event, credit_code=ME.credit_code or ""))
    assert changes(store) == [("Removed", "a.pdf", None), ("Removed", "b.png", None)]  # audited by its application
    assert list(bucket.objects) == [f"{ME.credit_code}/{other}/{kept.id}"]


# --- the reconciler --------------------------------------------------------------------------------------------


async def test_the_reconciler_sweeps_old_orphans_flags_missing_objects_and_reports_damage_again(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    kept = await service.upload(upload(request_id, filename="kept.pdf"))
    lost = await service.upload(upload(request_id, filename="lost.pdf"))
    bucket.objects.pop(f"{ME.credit_code}/{request_id}/{lost.id}")
    old = datetime.now(UTC) - timedelta(hours=2)
    bucket.objects["orphans/old"] = (PDF, old, {})
    bucket.objects["orphans/young"] = (PDF, datetime.now(UTC), {})  # perhaps an upload not committed yet
    reconciler = Reconciler(store, bucket, service.report_damage, orphan_grace_seconds=3600, interval_seconds=600)

    report = await reconciler.reconcile(Empty())
    assert report == c.ReconcileReport(objects_checked=3, orphans_removed=1, missing_flagged=1)
    assert sorted(bucket.objects) == sorted(["orphans/young", f"{ME.credit_code}/{request_id}/{kept.id}"])
    files = {
        i.filename: i.damaged for i in (await service.list(c.ListAttachments(actor=ME, request_id=request_id))).items
    }
    assert files == {"kept.pdf": False, "lost.pdf": True}
    assert coordination.kept[uuid.UUID(request_id)].damaged == 1

    coordination.kept[uuid.UUID(request_id)].damaged = 0  # a report lost earlier …
    again = await reconciler.reconcile(Empty())
    assert (again.missing_flagged, coordination.kept[uuid.UUID(request_id)].damaged) == (0, 1)  # … is made good

    store.reconciler_busy = True
    assert (await reconciler.reconcile(Empty())).skipped


# --- a change coordination-request counted, whose commit here was lost --------------------------------------


async def test_an_upload_whose_commit_is_lost_is_untold_at_once_and_its_retry_stores_it_once(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    store.commits_to_lose = 1
    with pytest.raises(CommitLost):
        await service.upload(upload(request_id, idempotency=key("k1")))

    assert (store.data.rows, store.data.events, store.data.keys) == ({}, [], {})
    assert coordination.changes == [(1, 0), (0, 0)]  # counted, then told what was kept
    assert coordination.kept[uuid.UUID(request_id)].count == 0  # so a submit now is refused for want of a file
    assert len(bucket.objects) == 1  # an orphan the reconciler sweeps after its grace period

    info = await service.upload(upload(request_id, idempotency=key("k1")))
    assert list(store.data.rows) == [uuid.UUID(info.id)] and coordination.kept[uuid.UUID(request_id)].count == 1


async def test_when_the_commit_and_the_second_telling_both_fail_the_next_change_tells_the_truth(
    service: AttachmentService, store: InMemoryStore, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    store.commits_to_lose = 1
    coordination.reachable_for = 1  # it consents, then stops answering before it is told again
    with pytest.raises(CommitLost):
        await service.upload(upload(request_id))
    assert store.data.rows == {} and coordination.kept[uuid.UUID(request_id)].count == 1  # one too many, for now

    coordination.reachable_for = None
    info = await service.upload(upload(request_id, content=PNG, filename="b.png"))
    assert coordination.kept[uuid.UUID(request_id)].count == 1 == len(store.data.rows)
    await service.delete(ref(request_id, info.id))
    assert coordination.kept[uuid.UUID(request_id)].count == 0


async def test_a_delete_whose_commit_is_lost_keeps_the_file_and_says_so_again(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    info = await service.upload(upload(request_id))
    store.commits_to_lose = 1
    with pytest.raises(CommitLost):
        await service.delete(ref(request_id, info.id))
    assert coordination.changes == [(1, 0), (0, 0), (1, 0)]
    assert (await service.download(ref(request_id, info.id))).content == PDF  # row and object both kept


async def test_a_consent_whose_answer_is_lost_is_told_again_with_what_was_kept(
    service: AttachmentService, store: InMemoryStore, bucket: InMemoryBucket, coordination: CoordinationRequest
) -> None:
    request_id = coordination.draft()
    coordination.lose_next_answer = True
    await refused(service.upload(upload(request_id)), 503, "SERVICE_UNAVAILABLE")
    assert coordination.changes == [(1, 0), (0, 0)] and store.data.rows == {} and bucket.objects == {}
