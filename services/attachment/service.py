"""attachment's endpoints and event handler: upload (object first, then row + event), list, verified download,
delete. Each asks coordination-request for the application, makes the change the domain allows and keeps it."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from minio import Minio
from minio.error import S3Error

from services.attachment import domain, scanner
from services.attachment.applications import Applications, NatsApplications
from services.attachment.reconciler import Reconciler
from services.attachment.repository import PostgresStore, Store
from services.attachment.storage import Objects, Storage, http, is_outage
from shared import bus
from shared.contracts import attachment as c
from shared.contracts.common import Actor, Empty
from shared.contracts.events import RequestDeleted
from shared.contracts.idempotency import IdempotencyKey
from shared.errors import Forbidden, InvalidState, NotFound, ServiceError, Unavailable
from shared.runtime import Context, ServiceDefinition
from shared.settings import Env

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
Scan = Callable[[bytes], Awaitable[str | None]]  # the signature found in the bytes, or None

LIMITS = domain.Limits(file_bytes=c.MAX_BYTES, files=c.MAX_FILES_PER_REQUEST, total_bytes=c.MAX_TOTAL_BYTES_PER_REQUEST)


class AttachmentNotFound(NotFound):
    code, message = "ATTACHMENT_NOT_FOUND", "附件不存在"


class FileTooLarge(ServiceError):
    status, code, message = 413, "FILE_TOO_LARGE", "文件大小不能超过4M"


class UnsupportedFileType(ServiceError):
    status, code, message = 415, "UNSUPPORTED_FILE_TYPE", "仅支持PDF、JPG、PNG、OFD格式的文件"


class EmptyFile(ServiceError):
    status, code, message = 400, "EMPTY_FILE", "不能上传空文件"


class IntegrityError(ServiceError):
    status, code, message = 500, "ATTACHMENT_CORRUPTED", "附件已损坏，无法下载，请联系管理员"


class AttachmentMissing(ServiceError):
    status, code, message = 500, "ATTACHMENT_MISSING", "附件文件缺失，无法下载，请联系管理员"


class VirusFound(ServiceError):
    status, code, message = 422, "VIRUS_FOUND", "文件未通过病毒检查，不能上传"


class TooManyFiles(ServiceError):
    status, code = 422, "ATTACHMENT_LIMIT_COUNT"
    message = f"每个申请最多上传{c.MAX_FILES_PER_REQUEST}个附件"


class TooManyBytes(ServiceError):
    status, code = 422, "ATTACHMENT_LIMIT_SIZE"
    message = f"每个申请的附件总大小不能超过{c.MAX_TOTAL_BYTES_PER_REQUEST // (1024 * 1024)}M"


class RequestNotFound(NotFound):
    code, message = "REQUEST_NOT_FOUND", "协调申请不存在"


_ERRORS: dict[type[domain.Refused], type[ServiceError]] = {
    domain.NotPermitted: Forbidden,
    domain.Frozen: InvalidState,
    domain.TooLarge: FileTooLarge,
    domain.EmptyContent: EmptyFile,
    domain.UnsupportedType: UnsupportedFileType,
    domain.TooManyFiles: TooManyFiles,
    domain.TooManyBytes: TooManyBytes,
    domain.UnknownRequest: RequestNotFound,
    domain.UnknownFile: AttachmentNotFound,
    domain.ObjectMissing: AttachmentMissing,
    domain.Corrupted: IntegrityError,
}


def answering(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A handler whose domain refusals reach the caller as this service's errors."""

    @functools.wraps(handler)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await handler(*args, **kwargs)
        except domain.Refused as refused:
            raise _ERRORS[type(refused)](refused.message) from None

    return answer


def _info(file: domain.Attachment) -> c.AttachmentInfo:
    return c.AttachmentInfo(
        id=str(file.id),
        request_id=str(file.request_id),
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256,
        created_at=file.created_at,
        damaged=file.damaged,
    )


class AttachmentService:
    def __init__(
        self,
        store: Store,
        storage: Objects,
        applications: Applications,
        *,
        scan: Scan | None = None,
        limits: domain.Limits = LIMITS,
    ) -> None:
        self.store = store
        self.storage = storage
        self.applications = applications
        self.scan = scan  # None: uploads are not scanned
        self.limits = limits

    # --- the enterprise's changes -------------------------------------------------------------------------

    @answering
    async def upload(self, cmd: c.UploadCommand) -> c.AttachmentInfo:
        domain.may_upload(cmd.actor.role, cmd.actor.credit_code)
        # A retry whose first try stored the file gets that file back, whatever the application's status now.
        if done := await self._done_before(cmd.actor, cmd.idempotency):
            return done
        content_type = domain.accepted_type(cmd.content, self.limits)
        application = await self.applications.get(cmd.actor, cmd.request_id)
        application.may_upload()
        async with self.store.reading() as attachments:  # early: no scan or S3 for a refusal
            (await attachments.files_of(application.id)).check_room(len(cmd.content), self.limits)
        await self._scan(cmd.content)
        file = application.new_file(uuid.uuid4(), cmd.filename, cmd.content, content_type, by=cmd.actor.user_id)
        # Object first: a crash after it leaves an orphan object (swept later), never a row without bytes.
        await self.storage.put(file.s3_key, cmd.content, content_type=content_type, sha256=file.sha256)
        try:
            info, added = await self._change(
                cmd.actor,
                cmd.idempotency,
                application.id,
                lambda files: files.add(file, self.limits, by=cmd.actor.username),
            )
        except (domain.Refused, ServiceError):
            # Refused (limits, or submitted meanwhile): nothing is committed; drop the object now.
            await self.storage.remove_quietly(file.s3_key)
            raise
        if added is None:
            # Another try of this upload stored the file: this copy is spare.
            await self.storage.remove_quietly(file.s3_key)
        return info

    @answering
    async def delete(self, ref: c.AttachmentRef) -> c.AttachmentInfo:
        domain.may_delete(ref.actor.role)
        if done := await self._done_before(ref.actor, ref.idempotency):
            return done
        application = await self.applications.get(ref.actor, ref.request_id)
        application.may_delete()
        attachment_id = domain.id_of(ref.attachment_id)
        info, removed = await self._change(
            ref.actor,
            ref.idempotency,
            application.id,
            lambda files: files.remove(attachment_id, application.credit_code, by=ref.actor.username),
        )
        if removed is not None:
            # After the commit: a failure here leaves an orphan object for the sweeper, never a row without bytes.
            await self.storage.remove_quietly(removed.s3_key)
        return info

    async def _change(
        self,
        actor: Actor,
        key: IdempotencyKey | None,
        request_id: uuid.UUID,
        change: Callable[[domain.ApplicationFiles], domain.Effects],
    ) -> tuple[c.AttachmentInfo, domain.Attachment | None]:
        """One file added or removed, in one transaction: the key bound first (a concurrent try of it waits here,
        then replays), the application's files locked (so the limits hold for concurrent uploads), the change
        kept with its reply, and coordination-request's consent last. Returns the reply and the file changed
        (None: another try of the key made the change)."""
        asked = False
        try:
            async with self.store.transaction() as attachments:
                if done := await attachments.claim(actor, key, c.AttachmentInfo):
                    return done, None
                files = await attachments.lock(request_id)
                effects = change(files)
                await attachments.save(effects)
                (file,) = effects.files
                info = _info(file)
                await attachments.complete(actor, key, info)
                asked = True
                await self._confirm(actor, files)
        except Exception as exc:
            # A refusal (4xx) was not counted over there; anything else after asking may have been.
            if asked and not (isinstance(exc, ServiceError) and exc.status < 500):
                await self._tell_again(actor, request_id)
            raise
        return info, file

    async def _confirm(self, actor: Actor, files: domain.ApplicationFiles) -> None:
        """coordination-request's consent, asked inside our transaction with the files locked: refused unless the
        application is editable, and its attachment revision moves on, so a submit that checked the files before
        this change is refused and no file changes after submission. It is told how many files there are and how
        many are damaged, so a submit is refused without a file or while one is damaged."""
        try:
            # If our commit then fails (or this answer is lost), coordination-request has counted a change that did
            # not happen: its revision moved (harmless: a submit that read the old one is refused and asked again)
            # and its count is one file off. `_change` at once tells it the files kept; should that fail too, a
            # retry of this command or the next change of the application's files does. Only a submit landing in
            # that gap sees the wrong count.
            await self.applications.files_changed(actor, files.request_id, count=files.count, damaged=files.damaged)
        except InvalidState:
            raise InvalidState("当前状态不允许变更附件") from None

    async def _tell_again(self, actor: Actor, request_id: uuid.UUID) -> None:
        """After coordination-request counted a change we did not commit: the files we kept, told again (best
        effort, under the files' lock so no other change's news overtakes it)."""
        try:
            async with self.store.transaction() as attachments:
                files = await attachments.lock(request_id)
                await self.applications.files_changed(actor, request_id, count=files.count, damaged=files.damaged)
        except Exception as exc:
            log.warning(
                "attachment counts not told again; the next change of the application's files will",
                extra={"fields": {"requestId": str(request_id), "error": type(exc).__name__}},
            )

    async def _done_before(self, actor: Actor, key: IdempotencyKey | None) -> c.AttachmentInfo | None:
        """The reply of a retried command's first try, looked up before the work it does ahead of its transaction."""
        if key is None:
            return None
        async with self.store.reading() as attachments:
            return await attachments.recorded(actor, key, c.AttachmentInfo)

    async def _scan(self, content: bytes) -> None:
        if self.scan is None:
            return
        try:
            signature = await self.scan(content)
        except scanner.ScannerUnavailable as exc:
            log.error("virus scanner unavailable", extra={"fields": {"error": str(exc)}})
            raise Unavailable("病毒检查服务暂不可用，请稍后重试") from None
        if signature:
            log.warning("infected upload refused", extra={"fields": {"signature": signature}})
            raise VirusFound()

    # --- reading ------------------------------------------------------------------------------------------

    @answering
    async def list(self, q: c.ListAttachments) -> c.AttachmentList:
        # Another enterprise's application, or (for officers) one never submitted to customs: 404, as if absent.
        application = await self.applications.get(q.actor, q.request_id)
        application.shown_to(q.actor.role)
        async with self.store.reading() as attachments:
            files = await attachments.listed(application.id, domain.scope(q.actor.role, q.actor.credit_code))
        return c.AttachmentList(items=[_info(file) for file in files])

    @answering
    async def download(self, ref: c.AttachmentRef) -> c.AttachmentContent:
        if ref.actor.role == domain.OFFICER:
            try:
                (await self.applications.get(ref.actor, ref.request_id)).shown_to(ref.actor.role)
            except (NotFound, domain.UnknownRequest):
                raise domain.UnknownFile() from None
        request_id, attachment_id = domain.id_of(ref.request_id), domain.id_of(ref.attachment_id)
        async with self.store.reading() as attachments:
            file = await attachments.find(
                request_id, attachment_id, domain.scope(ref.actor.role, ref.actor.credit_code)
            )
        if file is None:
            raise domain.UnknownFile()
        content = await self.storage.read(file.s3_key)
        effects = file.read_back(content, by=ref.actor.username)
        if isinstance(effects.refusal, domain.Corrupted):
            # Never serve bytes that are not what was uploaded; the file is flagged, and operations told.
            log.error("attachment failed its integrity check", extra={"fields": {"attachmentId": str(file.id)}})
        async with self.store.transaction() as attachments:
            await attachments.save(effects)
        if effects.refusal is not None:
            await self.report_damage(file.request_id)
            raise effects.refusal
        return c.AttachmentContent(info=_info(file), content=content)

    # --- news of the application and of damage -----------------------------------------------------------

    async def on_request_deleted(self, conn: Any, event: RequestDeleted) -> None:
        attachments = self.store.within(conn)
        effects = (await attachments.lock(uuid.UUID(event.request_id))).remove_all(event.credit_code)
        await attachments.save(effects)
        for file in effects.files:
            # Best effort (S3 may be down): an object left behind belongs to no live row, so the reconciler
            # sweeps it; the event is not retried, or parked, for that.
            await self.storage.remove_quietly(file.s3_key)

    async def report_damage(self, request_id: uuid.UUID) -> None:
        """Tells coordination-request how many of the application's files are damaged, in any status. Best
        effort: the reconciler tells it again on every pass."""
        try:
            async with self.store.transaction() as attachments:
                files = await attachments.lock(request_id)
                # Under the files' lock so no change's news overtakes it; nothing is written here to undo on failure.
                await self.applications.files_damaged(request_id, files.damaged)
        except NotFound:
            pass  # the application is gone
        except Exception as exc:
            log.warning(
                "damaged attachments not reported; the reconciler will",
                extra={"fields": {"requestId": str(request_id), "error": type(exc).__name__}},
            )


@dataclass(frozen=True)
class Settings:
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str = "attachments"
    s3_secure: bool = False
    clamd_address: str | None = None  # host:port of clamd; without it uploads are not scanned
    orphan_grace_seconds: int = 3600
    reconcile_interval_seconds: int = 600

    @classmethod
    def from_env(cls, env: Env, profile: str) -> Settings:
        return cls(
            s3_endpoint=env.str("S3_ENDPOINT"),
            s3_access_key=env.str("S3_ACCESS_KEY"),
            s3_secret_key=env.str("S3_SECRET_KEY"),
            s3_bucket=env.str("S3_BUCKET", "attachments"),
            s3_secure=env.bool("S3_SECURE", False),
            clamd_address=env.optional("CLAMD_ADDRESS"),
            orphan_grace_seconds=env.int("ORPHAN_GRACE_SECONDS", 3600),
            reconcile_interval_seconds=env.int("RECONCILE_INTERVAL_SECONDS", 600),
        )


def _storage(ctx: Context) -> Storage:
    settings: Settings = ctx.settings

    def client(**timeouts: Any) -> Minio:
        return Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            http_client=http(**timeouts),
        )

    return ctx.one(
        "storage",
        lambda: Storage(client(), probe=client(connect=1.0, read=2.0, retries=False), bucket=settings.s3_bucket),
    )


async def start(ctx: Context) -> None:
    storage, bucket = _storage(ctx), ctx.settings.s3_bucket
    for _ in range(60):
        try:
            if not await asyncio.to_thread(storage.client.bucket_exists, bucket):
                await asyncio.to_thread(storage.client.make_bucket, bucket)
            return
        except Exception as exc:
            if isinstance(exc, S3Error) and exc.code == "BucketAlreadyOwnedByYou":
                return
            if not (isinstance(exc, OSError) or is_outage(exc)):
                raise
            await asyncio.sleep(0.5)
    raise SystemExit("attachment: S3 not reachable")


async def _s3_ready(ctx: Context) -> bool:
    """Not ready while S3 does not answer: the probe's last word (it runs every few seconds)."""
    return _storage(ctx).available


def _store(ctx: Context) -> PostgresStore:
    return ctx.one("store", lambda: PostgresStore(ctx.pool))  # the service and the reconciler share one


def _service(ctx: Context) -> AttachmentService:
    settings: Settings = ctx.settings
    scan = functools.partial(scanner.scan, settings.clamd_address) if settings.clamd_address else None
    return ctx.one(
        "attachments",
        lambda: AttachmentService(_store(ctx), _storage(ctx), NatsApplications(ctx.nc), scan=scan),
    )


def _reconciler(ctx: Context) -> Reconciler:
    settings: Settings = ctx.settings
    return ctx.one(
        "reconciler",
        lambda: Reconciler(
            _store(ctx),
            _storage(ctx),
            _service(ctx).report_damage,
            orphan_grace_seconds=settings.orphan_grace_seconds,
            interval_seconds=settings.reconcile_interval_seconds,
        ),
    )


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    svc = _service(ctx)
    return [
        bus.Endpoint(c.UPLOAD, c.UploadCommand, svc.upload),
        bus.Endpoint(c.LIST, c.ListAttachments, svc.list),
        bus.Endpoint(c.DOWNLOAD, c.AttachmentRef, svc.download),
        bus.Endpoint(c.DELETE, c.AttachmentRef, svc.delete),
        bus.Endpoint(c.RECONCILE, Empty, _reconciler(ctx).reconcile),
    ]


definition = ServiceDefinition(
    name="attachment",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=lambda ctx: {RequestDeleted: _service(ctx).on_request_deleted},
    settings=Settings.from_env,
    start=start,
    background=lambda ctx: [_reconciler(ctx).forever(), _storage(ctx).watch()],
    ready=_s3_ready,
)
