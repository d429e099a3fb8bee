"""coordination-request as the attachment service asks it: the application as the caller may see it, and the news
of its files (coordination-request keeps the counts a submit checks)."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod

from nats.aio.client import Client

from services.attachment.domain import Application
from shared import bus
from shared.contracts import coordination
from shared.contracts.common import Actor


class Applications(ABC):
    @abstractmethod
    async def get(self, actor: Actor, request_id: str) -> Application:
        """The application as `actor` sees it: NotFound when it is another enterprise's, or absent."""

    @abstractmethod
    async def files_changed(self, actor: Actor, request_id: uuid.UUID, *, count: int, damaged: int) -> None:
        """A file is being added or removed, leaving `count` files of which `damaged` are damaged; refused
        (InvalidState) unless the application is editable."""

    @abstractmethod
    async def files_damaged(self, request_id: uuid.UUID, damaged: int) -> None:
        """How many of the application's files are damaged now, in any status."""


class NatsApplications(Applications):
    def __init__(self, nc: Client) -> None:
        self.nc = nc

    async def get(self, actor: Actor, request_id: str) -> Application:
        view = await bus.call(
            self.nc,
            coordination.GET,
            coordination.RequestRef(actor=actor, request_id=request_id),
            coordination.CoordinationRequest,
        )
        return Application(
            id=uuid.UUID(view.id),
            request_no=view.request_no,
            credit_code=view.credit_code,
            editable=view.editable,
            submitted=view.submitted_at is not None,
        )

    async def files_changed(self, actor: Actor, request_id: uuid.UUID, *, count: int, damaged: int) -> None:
        await bus.call(
            self.nc,
            coordination.ATTACHMENTS_CHANGED,
            coordination.AttachmentsChanged(actor=actor, request_id=str(request_id), count=count, damaged=damaged),
            coordination.AttachmentsRevision,
        )

    async def files_damaged(self, request_id: uuid.UUID, damaged: int) -> None:
        await bus.call(
            self.nc,
            coordination.ATTACHMENTS_DAMAGED,
            coordination.AttachmentsDamaged(request_id=str(request_id), damaged=damaged),
            coordination.AttachmentsRevision,
        )
