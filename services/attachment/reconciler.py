"""The reconciler of S3 and the database: removes objects no live file refers to, flags files whose object is
gone, and tells coordination-request again about every application with a damaged file."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import msgspec

from services.attachment.domain import Sweep
from services.attachment.repository import Store
from services.attachment.storage import Objects, StorageUnavailable
from shared.contracts import attachment as c
from shared.contracts.common import Empty

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        store: Store,
        storage: Objects,
        report_damage: Callable[[uuid.UUID], Awaitable[None]],
        *,
        orphan_grace_seconds: int,
        interval_seconds: int,
    ) -> None:
        self.store = store
        self.storage = storage
        self.report_damage = report_damage
        self.orphan_grace = timedelta(seconds=orphan_grace_seconds)
        self.interval = interval_seconds

    async def reconcile(self, _: Empty) -> c.ReconcileReport:
        """One pass (older objects than the grace period only); skipped while another replica runs one."""
        async with self.store.reconciling() as attachments:
            if attachments is None:
                return c.ReconcileReport(objects_checked=0, orphans_removed=0, missing_flagged=0, skipped=True)
            started = datetime.now(UTC)
            objects = await self.storage.listing()
            sweep = Sweep.of(objects, await attachments.live_keys(before=started), cutoff=started - self.orphan_grace)
            for key in sweep.orphans:
                await self.storage.remove(key)
            missing = await attachments.flag_missing(sweep.missing)
        # Every application with a damaged file, told again: a report lost earlier is made good here.
        async with self.store.reading() as attachments:
            damaged = await attachments.damaged_requests()
        for attachment_id in missing:
            log.error("attachment object missing", extra={"fields": {"attachmentId": str(attachment_id)}})
        for request_id in damaged:
            await self.report_damage(request_id)
        report = c.ReconcileReport(
            objects_checked=len(objects), orphans_removed=len(sweep.orphans), missing_flagged=len(missing)
        )
        log.info("reconciled attachments", extra={"fields": msgspec.to_builtins(report)})
        return report

    async def forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reconcile(Empty())
            except StorageUnavailable:
                log.warning("reconciliation skipped: S3 unavailable; will retry")
            except Exception:
                log.exception("reconciliation failed; will retry")
