"""attachment's endpoints: upload (object first, then row + event), list, verified download, delete."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from minio import Minio
from minio.error import S3Error

from services.attachment import filetype, scanner
from services.attachment.storage import Storage, StorageUnavailable, http, is_outage
from shared import audit, bus, idempotency, outbox
from shared.contracts import attachment as c
from shared.contracts import coordination
from shared.contracts.common import Actor, Empty
from shared.contracts.events import AttachmentAdded, AttachmentRemoved, RequestDeleted
from shared.errors import Forbidden, InvalidState, NotFound, ServiceError, Unavailable
from shared.runtime import Context, ServiceDefinition
from shared.settings import Env

log = logging.getLogger(__name__)
RECONCILE_LOCK = 7_305_118_101
DAMAGED = "(integrity_failed_at IS NOT NULL OR object_missing_at IS NOT NULL)"
COLUMNS = f"id, request_id, credit_code, filename, content_type, size, sha256, created_at, s3_key, {DAMAGED} AS damaged"


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


def clean_filename(name: str) -> str:
    """Display name only: drop path parts and control characters, keep Unicode, limit the length."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:120]
    return name or "附件"


def _info(row: asyncpg.Record) -> c.AttachmentInfo:
    return c.AttachmentInfo(
        id=str(row["id"]),
        request_id=str(row["request_id"]),
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=row["created_at"],
        damaged=row["damaged"],
    )


class Attachments:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        self.nc = ctx.nc
        settings: Settings = ctx.settings
        self.storage = _storage(ctx)
        self.s3: Minio = self.storage.client
        self.bucket = settings.s3_bucket
        self.clamd = settings.clamd_address
        self.orphan_grace = settings.orphan_grace_seconds
        self.reconcile_interval = settings.reconcile_interval_seconds

    async def _request(self, actor: Actor, request_id: str) -> coordination.CoordinationRequest:
        """The application, as its enterprise sees it: 404 when it is not theirs."""
        return await bus.call(
            self.nc,
            coordination.GET,
            coordination.RequestRef(actor=actor, request_id=request_id),
            coordination.CoordinationRequest,
        )

    async def upload(self, cmd: c.UploadCommand) -> c.AttachmentInfo:
        if cmd.actor.role != "ENTERPRISE" or not cmd.actor.credit_code:
            raise Forbidden("仅企业用户可以上传附件")
        if cmd.idempotency is not None:
            # A retry whose first try stored the file gets that file back, whatever the application's status now.
            async with self.pool.acquire() as conn:
                if done := await idempotency.Keys(conn).recorded(cmd.actor, cmd.idempotency, c.AttachmentInfo):
                    return done
        if len(cmd.content) > c.MAX_BYTES:
            raise FileTooLarge()
        if not cmd.content:
            raise EmptyFile()
        content_type = filetype.detect(cmd.content)
        if content_type is None:
            raise UnsupportedFileType()
        request = await self._request(cmd.actor, cmd.request_id)
        if not request.editable:
            raise InvalidState("当前状态不允许上传附件")
        request_id = uuid.UUID(request.id)
        async with self.pool.acquire() as conn:
            await self._check_room(conn, request_id, len(cmd.content))  # early: no scan or S3 for a refusal
        await self._scan(cmd.content)
        attachment_id = uuid.uuid4()
        key = f"{request.credit_code}/{request.id}/{attachment_id}"
        digest = hashlib.sha256(cmd.content).hexdigest()
        # Object first: a crash after it leaves an orphan object (swept later), never a row without bytes.
        await self.storage.call(
            self.s3.put_object,
            self.bucket,
            key,
            io.BytesIO(cmd.content),
            len(cmd.content),
            content_type=content_type,
            metadata={"sha256": digest},
        )
        filename = clean_filename(cmd.filename)
        async with self.pool.acquire() as conn, conn.transaction():
            keys = idempotency.Keys(conn)
            try:
                # The key first: a concurrent try of this upload waits here for the other's row, then replays it.
                done = await keys.claim(cmd.actor, cmd.idempotency, c.AttachmentInfo)
                if done is None:
                    info = _info(
                        await self._insert(conn, cmd, request, attachment_id, key, filename, content_type, digest)
                    )
                    await keys.complete(cmd.actor, cmd.idempotency, info)
            except ServiceError:
                # Refused (limits, or submitted meanwhile): nothing is committed; drop the object now.
                await self.storage.remove_quietly(key)
                raise
        if done is not None:
            await self.storage.remove_quietly(key)  # another try of this upload stored the file: this copy is spare
            return done
        return info

    async def _insert(
        self,
        conn: asyncpg.Connection,
        cmd: c.UploadCommand,
        request: coordination.CoordinationRequest,
        attachment_id: uuid.UUID,
        key: str,
        filename: str,
        content_type: str,
        digest: str,
    ) -> asyncpg.Record:
        """The row, its event and coordination-request's confirmation, in the caller's transaction. The
        application's lock makes the limits hold for concurrent uploads: each counts what the others committed."""
        request_id = uuid.UUID(request.id)
        await self._lock(conn, request_id)
        await self._check_room(conn, request_id, len(cmd.content))
        row = await conn.fetchrow(
            "INSERT INTO attachments (id, request_id, credit_code, filename, content_type, size, sha256,"
            f" s3_key, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING {COLUMNS}",
            attachment_id,
            request_id,
            request.credit_code,
            filename,
            content_type,
            len(cmd.content),
            digest,
            key,
            cmd.actor.user_id,
        )
        await audit.record(
            conn,
            actor=cmd.actor.username,
            enterprise=request.credit_code,
            action="ATTACHMENT_UPLOAD",
            target=f"{request.id}/{attachment_id}",
        )
        await outbox.record(
            conn,
            outbox.new_event(
                AttachmentAdded,
                attachment_id=str(attachment_id),
                request_id=request.id,
                credit_code=request.credit_code,
                filename=filename,
                size=len(cmd.content),
                sha256=digest,
            ),
        )
        await self._confirm_change(conn, cmd.actor, request_id)
        return row

    @staticmethod
    async def _lock(conn: asyncpg.Connection, request_id: uuid.UUID) -> None:
        """The application's files, locked until the transaction ends (uploads, deletes, damage reports)."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", int.from_bytes(request_id.bytes[:8], "big", signed=True))

    @staticmethod
    async def _check_room(conn: asyncpg.Connection, request_id: uuid.UUID, size: int) -> None:
        files, total = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE request_id = $1 AND deleted_at IS NULL",
            request_id,
        )
        if files + 1 > c.MAX_FILES_PER_REQUEST:
            raise TooManyFiles()
        if total + size > c.MAX_TOTAL_BYTES_PER_REQUEST:
            raise TooManyBytes()

    @staticmethod
    async def _damaged(conn: asyncpg.Connection, request_id: uuid.UUID) -> int:
        return await conn.fetchval(
            f"SELECT count(*) FROM attachments WHERE request_id = $1 AND deleted_at IS NULL AND {DAMAGED}", request_id
        )

    @staticmethod
    async def _counts(conn: asyncpg.Connection, request_id: uuid.UUID) -> tuple[int, int]:
        """(files, damaged files) of the application as this transaction sees them."""
        row = await conn.fetchrow(
            f"SELECT count(*) AS files, count(*) FILTER (WHERE {DAMAGED}) AS damaged FROM attachments"
            " WHERE request_id = $1 AND deleted_at IS NULL",
            request_id,
        )
        return row["files"], row["damaged"]

    async def _confirm_change(self, conn: asyncpg.Connection, actor: Actor, request_id: uuid.UUID) -> None:
        """Asked inside our transaction, before it commits: the application must still be editable, and its
        attachment revision moves on, so a submit that checked the files before this change is refused. It is
        told how many files there are and how many are damaged, so a submit is refused without a file or while
        one is damaged."""
        files, damaged = await self._counts(conn, request_id)
        try:
            await bus.call(
                self.nc,
                coordination.ATTACHMENTS_CHANGED,
                coordination.AttachmentsChanged(actor=actor, request_id=str(request_id), count=files, damaged=damaged),
                coordination.AttachmentsRevision,
            )
        except InvalidState:
            raise InvalidState("当前状态不允许变更附件") from None

    async def _report_damage(self, request_id: uuid.UUID) -> None:
        """Tells coordination-request how many of the application's files are damaged, in any status. Best
        effort: the reconciler tells it again on every pass."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await self._lock(conn, request_id)
                await bus.call(
                    self.nc,
                    coordination.ATTACHMENTS_DAMAGED,
                    coordination.AttachmentsDamaged(
                        request_id=str(request_id), damaged=await self._damaged(conn, request_id)
                    ),
                    coordination.AttachmentsRevision,
                )
        except NotFound:
            pass  # the application is gone
        except Exception as exc:
            log.warning(
                "damaged attachments not reported; the reconciler will",
                extra={"fields": {"requestId": str(request_id), "error": type(exc).__name__}},
            )

    async def _scan(self, content: bytes) -> None:
        if not self.clamd:
            return
        try:
            signature = await scanner.scan(self.clamd, content)
        except scanner.ScannerUnavailable as exc:
            log.error("virus scanner unavailable", extra={"fields": {"error": str(exc)}})
            raise Unavailable("病毒检查服务暂不可用，请稍后重试") from None
        if signature:
            log.warning("infected upload refused", extra={"fields": {"signature": signature}})
            raise VirusFound()

    async def list(self, q: c.ListAttachments) -> c.AttachmentList:
        # Another enterprise's application, or (for officers) one never submitted to customs: 404, as if absent.
        await self._visible(q.actor, q.request_id)
        rows = await self._scoped(q.actor, "request_id = $1", self._uuid(q.request_id))
        return c.AttachmentList(items=[_info(r) for r in rows])

    async def _visible(self, actor: Actor, request_id: str) -> None:
        request = await self._request(actor, request_id)
        if actor.role == "OFFICER" and request.submitted_at is None:
            # Customs sees an application once it was submitted to it, as the case detail does.
            raise RequestNotFound()

    async def download(self, ref: c.AttachmentRef) -> c.AttachmentContent:
        if ref.actor.role == "OFFICER":
            try:
                await self._visible(ref.actor, ref.request_id)
            except NotFound:
                raise AttachmentNotFound() from None
        rows = await self._scoped(
            ref.actor, "request_id = $1 AND id = $2", self._uuid(ref.request_id), self._uuid(ref.attachment_id)
        )
        if not rows:
            raise AttachmentNotFound()
        row = rows[0]
        content = await self.storage.call(self._read, row["s3_key"])
        if content is None:
            await self._flag(row, "object_missing_at")
            raise AttachmentMissing()
        if hashlib.sha256(content).hexdigest() != row["sha256"]:
            # Never serve bytes that are not what was uploaded; flag the row and tell operations.
            log.error("attachment failed its integrity check", extra={"fields": {"attachmentId": str(row["id"])}})
            await self._flag(row, "integrity_failed_at")
            raise IntegrityError()
        await audit.record(
            self.pool,
            actor=ref.actor.username,
            enterprise=row["credit_code"],
            action="ATTACHMENT_DOWNLOAD",
            target=f"{row['request_id']}/{row['id']}",
        )
        return c.AttachmentContent(info=_info(row), content=content)

    async def _flag(self, row: asyncpg.Record, column: str) -> None:
        await self.pool.execute(
            f"UPDATE attachments SET {column} = now() WHERE id = $1 AND {column} IS NULL", row["id"]
        )
        await self._report_damage(row["request_id"])

    async def delete(self, ref: c.AttachmentRef) -> c.AttachmentInfo:
        if ref.actor.role != "ENTERPRISE":
            raise Forbidden("仅企业用户可以删除附件")
        if ref.idempotency is not None:
            async with self.pool.acquire() as conn:
                if done := await idempotency.Keys(conn).recorded(ref.actor, ref.idempotency, c.AttachmentInfo):
                    return done
        request = await self._request(ref.actor, ref.request_id)
        if not request.editable:
            raise InvalidState("当前状态不允许删除附件")
        async with self.pool.acquire() as conn, conn.transaction():
            keys = idempotency.Keys(conn)
            if done := await keys.claim(ref.actor, ref.idempotency, c.AttachmentInfo):
                return done
            await self._lock(conn, uuid.UUID(request.id))
            row = await conn.fetchrow(
                f"UPDATE attachments SET deleted_at = now() WHERE id = $1 AND request_id = $2 AND credit_code = $3"
                f" AND deleted_at IS NULL RETURNING {COLUMNS}",
                self._uuid(ref.attachment_id),
                uuid.UUID(request.id),
                request.credit_code,
            )
            if row is None:
                raise AttachmentNotFound()
            await audit.record(
                conn,
                actor=ref.actor.username,
                enterprise=request.credit_code,
                action="ATTACHMENT_DELETE",
                target=f"{request.id}/{row['id']}",
            )
            await outbox.record(
                conn,
                outbox.new_event(
                    AttachmentRemoved,
                    attachment_id=str(row["id"]),
                    request_id=request.id,
                    credit_code=request.credit_code,
                ),
            )
            await self._confirm_change(conn, ref.actor, uuid.UUID(request.id))
            await keys.complete(ref.actor, ref.idempotency, _info(row))
        # After the commit: a failure here leaves an orphan object for the sweeper, never a row without bytes.
        await self.storage.remove_quietly(row["s3_key"])
        return _info(row)

    async def on_request_deleted(self, conn: asyncpg.Connection, event: RequestDeleted) -> None:
        rows = await conn.fetch(
            "UPDATE attachments SET deleted_at = now() WHERE request_id = $1 AND credit_code = $2"
            " AND deleted_at IS NULL RETURNING id, s3_key",
            uuid.UUID(event.request_id),
            event.credit_code,
        )
        for row in rows:
            await outbox.record(
                conn,
                outbox.new_event(
                    AttachmentRemoved,
                    attachment_id=str(row["id"]),
                    request_id=event.request_id,
                    credit_code=event.credit_code,
                ),
            )
            # Best effort (S3 may be down): an object left behind belongs to no live row, so the reconciler
            # sweeps it; the event is not retried, or parked, for that.
            await self.storage.remove_quietly(row["s3_key"])

    async def reconcile(self, _: Empty) -> c.ReconcileReport:
        """Remove objects no live row refers to (older than the grace period); flag rows whose object is gone."""
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RECONCILE_LOCK):
                return c.ReconcileReport(objects_checked=0, orphans_removed=0, missing_flagged=0, skipped=True)
            try:
                started = datetime.now(UTC)
                objects = await self.storage.call(self._list_objects)
                live = {
                    r["s3_key"]
                    for r in await conn.fetch(
                        "SELECT s3_key FROM attachments WHERE deleted_at IS NULL AND created_at < $1", started
                    )
                }
                cutoff = started - timedelta(seconds=self.orphan_grace)
                orphans = [key for key, modified in objects.items() if key not in live and modified < cutoff]
                for key in orphans:
                    await self.storage.call(self.s3.remove_object, self.bucket, key)
                missing = await conn.fetch(
                    "UPDATE attachments SET object_missing_at = now() WHERE s3_key = ANY($1::text[])"
                    " AND object_missing_at IS NULL RETURNING id",
                    sorted(live - objects.keys()),
                )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", RECONCILE_LOCK)
            # Every application with a damaged file, told again: a report lost earlier is made good here.
            damaged = await conn.fetch(
                f"SELECT DISTINCT request_id FROM attachments WHERE deleted_at IS NULL AND {DAMAGED}"
            )
        for row in missing:
            log.error("attachment object missing", extra={"fields": {"attachmentId": str(row["id"])}})
        for row in damaged:
            await self._report_damage(row["request_id"])
        report = c.ReconcileReport(
            objects_checked=len(objects), orphans_removed=len(orphans), missing_flagged=len(missing)
        )
        log.info("reconciled attachments", extra={"fields": msgspec.to_builtins(report)})
        return report

    def _list_objects(self) -> dict[str, datetime]:
        return {o.object_name: o.last_modified for o in self.s3.list_objects(self.bucket, recursive=True)}

    async def reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_interval)
            try:
                await self.reconcile(Empty())
            except StorageUnavailable:
                log.warning("reconciliation skipped: S3 unavailable; will retry")
            except Exception:
                log.exception("reconciliation failed; will retry")

    async def _scoped(self, actor: Actor, condition: str, *args: Any) -> list[asyncpg.Record]:
        sql = f"SELECT {COLUMNS} FROM attachments WHERE {condition} AND deleted_at IS NULL"
        if actor.role == "OFFICER":
            return await self.pool.fetch(sql + " ORDER BY created_at", *args)
        if not actor.credit_code:
            raise Forbidden()
        return await self.pool.fetch(
            sql + f" AND credit_code = ${len(args) + 1} ORDER BY created_at", *args, actor.credit_code
        )

    def _read(self, key: str) -> bytes | None:
        try:
            response = self.s3.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    @staticmethod
    def _uuid(value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise AttachmentNotFound() from None


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


def _service(ctx: Context) -> Attachments:
    return ctx.one("attachments", lambda: Attachments(ctx))


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    svc = _service(ctx)
    return [
        bus.Endpoint(c.UPLOAD, c.UploadCommand, svc.upload),
        bus.Endpoint(c.LIST, c.ListAttachments, svc.list),
        bus.Endpoint(c.DOWNLOAD, c.AttachmentRef, svc.download),
        bus.Endpoint(c.DELETE, c.AttachmentRef, svc.delete),
        bus.Endpoint(c.RECONCILE, Empty, svc.reconcile),
    ]


definition = ServiceDefinition(
    name="attachment",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=lambda ctx: {RequestDeleted: _service(ctx).on_request_deleted},
    settings=Settings.from_env,
    start=start,
    background=lambda ctx: [_service(ctx).reconcile_forever(), _storage(ctx).watch()],
    ready=_s3_ready,
)
