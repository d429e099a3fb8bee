"""Where attachments' metadata is kept: the only code that knows the `attachments` table, and that writes, in the
same transaction, the audit records and outbox events a change caused and the Idempotency-Key it answers."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import asyncpg

from services.attachment import domain
from services.attachment.domain import ApplicationFiles, Attachment, Damage, Effects
from shared import audit, outbox, repository
from shared.contracts import events

RECONCILE_LOCK = 7_305_118_101


class Attachments(repository.Keyed):
    """The attachments as one transaction, or one read, sees them."""

    @abstractmethod
    async def lock(self, request_id: uuid.UUID) -> ApplicationFiles:
        """The application's files, held until the transaction ends: its uploads, deletes and damage reports
        happen one at a time."""

    @abstractmethod
    async def files_of(self, request_id: uuid.UUID) -> ApplicationFiles:
        """The application's files as committed now, not held."""

    @abstractmethod
    async def listed(self, request_id: uuid.UUID, tenant: str | None) -> list[Attachment]:
        """The application's files, oldest first; `tenant` None: whatever the enterprise (officers)."""

    @abstractmethod
    async def find(self, request_id: uuid.UUID, attachment_id: uuid.UUID, tenant: str | None) -> Attachment | None: ...

    @abstractmethod
    async def save(self, effects: Effects) -> None:
        """Keeps what a change caused (stamping an added file's created_at), with its audit records and events."""

    # For the reconciler.

    @abstractmethod
    async def live_keys(self, before: datetime) -> set[str]:
        """The object keys of the files not deleted that were added before `before`."""

    @abstractmethod
    async def flag_missing(self, keys: list[str]) -> list[uuid.UUID]:
        """Flags the files whose object is gone (once each); returns those newly flagged."""

    @abstractmethod
    async def damaged_requests(self) -> list[uuid.UUID]:
        """Every application with a damaged file not deleted."""


class Store(repository.Store[Attachments]):
    """Opens the attachments as every store does, and for the one reconciler pass that runs at a time."""

    @abstractmethod
    def reconciling(self) -> AbstractAsyncContextManager[Attachments | None]:
        """Held for one reconciler pass across every replica; None while another replica holds it."""


class PostgresStore(repository.PostgresStore[Attachments], Store):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, PostgresAttachments)

    @asynccontextmanager
    async def reconciling(self) -> AsyncIterator[Attachments | None]:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RECONCILE_LOCK):
                yield None
                return
            try:
                yield PostgresAttachments(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", RECONCILE_LOCK)


DAMAGED = "(integrity_failed_at IS NOT NULL OR object_missing_at IS NOT NULL)"
COLUMNS = (
    "id, request_id, credit_code, filename, content_type, size, sha256, s3_key, created_by, created_at,"
    f" {DAMAGED} AS damaged, request_no"
)
_LIVE = f"SELECT {COLUMNS} FROM attachments WHERE request_id = $1 AND deleted_at IS NULL"
_FLAGS = {Damage.CORRUPTED: "integrity_failed_at", Damage.MISSING: "object_missing_at"}


def _attachment(row: asyncpg.Record) -> Attachment:
    return Attachment(**dict(row))


class PostgresAttachments(repository.PostgresKeyed, Attachments):
    async def lock(self, request_id: uuid.UUID) -> ApplicationFiles:
        key = int.from_bytes(request_id.bytes[:8], "big", signed=True)
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", key)
        return await self.files_of(request_id)

    async def files_of(self, request_id: uuid.UUID) -> ApplicationFiles:
        rows = await self.conn.fetch(_LIVE + " ORDER BY created_at", request_id)
        return ApplicationFiles(request_id, [_attachment(row) for row in rows])

    async def listed(self, request_id: uuid.UUID, tenant: str | None) -> list[Attachment]:
        rows = await self.conn.fetch(
            _LIVE + " AND ($2::text IS NULL OR credit_code = $2) ORDER BY created_at", request_id, tenant
        )
        return [_attachment(row) for row in rows]

    async def find(self, request_id: uuid.UUID, attachment_id: uuid.UUID, tenant: str | None) -> Attachment | None:
        row = await self.conn.fetchrow(
            _LIVE + " AND id = $2 AND ($3::text IS NULL OR credit_code = $3)", request_id, attachment_id, tenant
        )
        return None if row is None else _attachment(row)

    async def save(self, effects: Effects) -> None:
        for event in effects.events:
            match event:
                case domain.Added(file=file, by=by):
                    file.created_at = await self.conn.fetchval(
                        "INSERT INTO attachments (id, request_id, credit_code, filename, content_type, size, sha256,"
                        " s3_key, created_by, request_no) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING created_at",
                        file.id,
                        file.request_id,
                        file.credit_code,
                        file.filename,
                        file.content_type,
                        file.size,
                        file.sha256,
                        file.s3_key,
                        file.created_by,
                        file.request_no,
                    )
                    await self._audit(file, by, "ATTACHMENT_UPLOAD")
                    await outbox.record(
                        self.conn,
                        outbox.new_event(
                            events.AttachmentAdded,
                            attachment_id=str(file.id),
                            request_id=str(file.request_id),
                            credit_code=file.credit_code,
                            filename=file.filename,
                            size=file.size,
                            sha256=file.sha256,
                        ),
                    )
                case domain.Removed(file=file, by=by):
                    await self.conn.execute(
                        "UPDATE attachments SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL", file.id
                    )
                    if by is not None:
                        await self._audit(file, by, "ATTACHMENT_DELETE")
                    await outbox.record(
                        self.conn,
                        outbox.new_event(
                            events.AttachmentRemoved,
                            attachment_id=str(file.id),
                            request_id=str(file.request_id),
                            credit_code=file.credit_code,
                        ),
                    )
                case domain.Flagged(file=file, damage=damage):
                    column = _FLAGS[damage]
                    await self.conn.execute(
                        f"UPDATE attachments SET {column} = now() WHERE id = $1 AND {column} IS NULL", file.id
                    )
                case domain.Downloaded(file=file, by=by):
                    await self._audit(file, by, "ATTACHMENT_DOWNLOAD")

    async def _audit(self, file: Attachment, actor: str, action: str) -> None:
        await audit.record(self.conn, actor=actor, enterprise=file.credit_code, action=action, target=file.audit_target)

    async def live_keys(self, before: datetime) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT s3_key FROM attachments WHERE deleted_at IS NULL AND created_at < $1", before
        )
        return {row["s3_key"] for row in rows}

    async def flag_missing(self, keys: list[str]) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            "UPDATE attachments SET object_missing_at = now() WHERE s3_key = ANY($1::text[])"
            " AND object_missing_at IS NULL RETURNING id",
            keys,
        )
        return [row["id"] for row in rows]

    async def damaged_requests(self) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            f"SELECT DISTINCT request_id FROM attachments WHERE deleted_at IS NULL AND {DAMAGED}"
        )
        return [row["request_id"] for row in rows]
