"""attachment: files of an application, metadata in PostgreSQL, bytes in S3."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import Actor, Contract
from shared.contracts.idempotency import IdempotencyKey

UPLOAD = "svc.attachment.upload"
LIST = "svc.attachment.list"
DOWNLOAD = "svc.attachment.download"
DELETE = "svc.attachment.delete"

MAX_BYTES = 4 * 1024 * 1024
# Per application, counting the files not deleted; enforced inside the upload's transaction.
MAX_FILES_PER_REQUEST = 30
MAX_TOTAL_BYTES_PER_REQUEST = 100 * 1024 * 1024


class UploadCommand(Contract):
    actor: Actor
    request_id: str
    filename: str
    content: bytes
    idempotency: IdempotencyKey | None = None


class AttachmentInfo(Contract):
    id: str
    request_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    # The stored object failed its integrity check or is gone: delete the file and upload it again.
    damaged: bool = False


class ListAttachments(Contract):
    actor: Actor
    request_id: str


class AttachmentList(Contract):
    items: list[AttachmentInfo]


class AttachmentRef(Contract):
    actor: Actor
    request_id: str
    attachment_id: str
    idempotency: IdempotencyKey | None = None  # for a delete


class AttachmentContent(Contract):
    info: AttachmentInfo
    content: bytes


RECONCILE = "svc.attachment.reconcile"


class ReconcileReport(Contract):
    """One pass of the S3/database reconciler (ops endpoint; not exposed by the gateway)."""

    objects_checked: int
    orphans_removed: int
    missing_flagged: int
    skipped: bool = False  # another replica was running a pass
