"""coordination-request's endpoints and event handlers: each loads the application, makes the move its domain
method allows, and keeps the result; every query is scoped to the actor's enterprise."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from services.coordination_request import domain
from services.coordination_request.domain import Application, Effects, Who
from services.coordination_request.repository import Applications, PostgresStore, Store
from shared import bus
from shared.clock import Clock, china_date
from shared.contracts import coordination as c
from shared.contracts import registry
from shared.contracts.common import Actor
from shared.contracts.events import CaseAccepted, CaseConcluded, CaseReturned, ReceiptAccepted, ReceiptRejected
from shared.errors import Forbidden, NotFound, ValidationFailed, answering
from shared.formats import PROOF_KINDS
from shared.runtime import Context, ServiceDefinition
from shared.workflow import OUTCOMES, STATUS_LABELS, Action

FormCheck = Callable[[registry.FormCheck], Awaitable[registry.FormCheckResult]]
R = TypeVar("R")


class RequestNotFound(NotFound):
    code, message = "REQUEST_NOT_FOUND", "协调申请不存在"


def _tenant(actor: Actor) -> str:
    if actor.role != "ENTERPRISE" or not actor.credit_code:
        raise Forbidden("仅企业用户可以办理享惠受阻协调申请")
    return actor.credit_code


def _request_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise RequestNotFound() from None


def _who(actor: Actor) -> Who:
    return Who(name=actor.display_name, login=actor.username)


def _officer(officer: str, officer_username: str) -> Who:
    """The deciding officer as customs names them; an event published before it carried the login name (an
    older customs-desk) gives the display name for both."""
    return Who(name=officer, login=officer_username or officer)


def _found(app: Application | None) -> Application:
    if app is None:
        raise RequestNotFound()
    return app


def _view(app: Application, history: list[c.HistoryEntry] | None = None) -> c.CoordinationRequest:
    return c.CoordinationRequest(
        id=str(app.id),
        request_no=app.request_no,
        proof_type_label=PROOF_KINDS[app.form.proof_type].label,
        credit_code=app.credit_code,
        enterprise_name=app.enterprise_name,
        agreement_code=app.agreement_code,
        status=app.status.value,
        status_label=STATUS_LABELS[app.status],
        status_reason=app.status_reason,
        version=app.version,
        attachments_revision=app.attachments_revision,
        attachment_count=app.attachment_count,
        editable=app.editable,
        deletable=app.deletable,
        withdrawable=app.withdrawable,
        created_at=app.created_at,
        updated_at=app.updated_at,
        submitted_at=app.submitted_at,
        outcome=app.outcome,
        outcome_label=OUTCOMES.get(app.outcome) if app.outcome else None,
        reply=app.reply,
        history=history or [],
        **msgspec.structs.asdict(app.form),
    )


class Requests:
    def __init__(self, store: Store, check_form: FormCheck, clock: Clock) -> None:
        self.store = store
        self.check_form = check_form
        self.clock = clock

    async def _validated(self, form: c.RequestForm) -> tuple[c.RequestForm, str]:
        """Checks every field, asks the registry for the certificate, returns the form and its agreement code."""
        clean = domain.cleaned(form)
        errors = domain.validate(clean)
        # The registry knows certificates, countries and ports; ask only about fields that are well-formed.
        check = await self.check_form(
            registry.FormCheck(
                proof_type="" if "proofType" in errors else clean.proof_type,
                certificate_no="" if "certificateNo" in errors else clean.certificate_no,
                import_country="" if "importCountry" in errors else clean.import_country,
                import_port="" if "importPort" in errors else clean.import_port,
            )
        )
        for error in check.errors:
            errors.setdefault(error.field, error.message)
        if errors:
            raise ValidationFailed.of(errors)
        return clean, check.agreement_code or ""

    async def _done_before(self, cmd: c.CreateCommand | c.UpdateCommand, reply_type: type[R]) -> R | None:
        """The reply of a retried command's first try, looked up before the work it does ahead of its
        transaction (the registry's check, a number taken)."""
        if cmd.idempotency is None:
            return None
        async with self.store.reading() as apps:
            return await apps.recorded(cmd.actor, cmd.idempotency, reply_type)

    # --- the enterprise's commands ------------------------------------------------------------------
    # Each binds its Idempotency-Key first in its transaction: a retry gets the first try's reply, never a
    # second effect (shared/idempotency.py).

    async def create(self, cmd: c.CreateCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        if done := await self._done_before(cmd, c.CoordinationRequest):
            return done
        form, agreement_code = await self._validated(cmd.form)
        # The number is taken in a statement of its own: a create never holds the day's counter until it commits
        # (creates would queue on that one row). A create that then fails leaves a gap, never a duplicate.
        day = china_date(self.clock.now())
        async with self.store.reading() as apps:
            sequence = await apps.next_sequence(day)
        async with self.store.transaction() as apps:
            if done := await apps.claim(cmd.actor, cmd.idempotency, c.CoordinationRequest):
                return done
            app, effects = Application.create(
                id=uuid.uuid4(),
                request_no=domain.request_no(day, sequence),
                credit_code=tenant,
                enterprise_name=cmd.actor.enterprise_name or "",
                created_by=cmd.actor.user_id,
                by=_who(cmd.actor),
                form=form,
                agreement_code=agreement_code,
            )
            await apps.add(app, effects)
            return await self._kept(apps, cmd, _view(app))

    @answering
    async def update(self, cmd: c.UpdateCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        if done := await self._done_before(cmd, c.CoordinationRequest):
            return done
        form, agreement_code = await self._validated(cmd.form)
        async with self.store.transaction() as apps:
            if done := await apps.claim(cmd.actor, cmd.idempotency, c.CoordinationRequest):
                return done
            app = _found(await apps.lock(_request_id(cmd.request_id), tenant))
            await apps.save(app, app.save(_who(cmd.actor), form, agreement_code, version=cmd.version))
            return await self._kept(apps, cmd, _view(app))

    @answering
    async def submit(self, cmd: c.TransitionCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        async with self.store.transaction() as apps:
            if done := await apps.claim(cmd.actor, cmd.idempotency, c.CoordinationRequest):
                return done
            app = _found(await apps.lock(_request_id(cmd.request_id), tenant))
            effects = app.submit(
                _who(cmd.actor),
                self.clock.now(),
                version=cmd.version,
                attachments_revision=cmd.attachments_revision,
            )
            await apps.save(app, effects)
            return await self._kept(apps, cmd, _view(app))

    @answering
    async def withdraw(self, cmd: c.TransitionCommand) -> c.CoordinationRequest:
        tenant = _tenant(cmd.actor)
        async with self.store.transaction() as apps:
            if done := await apps.claim(cmd.actor, cmd.idempotency, c.CoordinationRequest):
                return done
            app = _found(await apps.lock(_request_id(cmd.request_id), tenant))
            await apps.save(app, app.withdraw(_who(cmd.actor), version=cmd.version))
            return await self._kept(apps, cmd, _view(app))

    @answering
    async def delete(self, cmd: c.TransitionCommand) -> c.Deleted:
        tenant = _tenant(cmd.actor)
        async with self.store.transaction() as apps:
            if done := await apps.claim(cmd.actor, cmd.idempotency, c.Deleted):
                return done
            app = _found(await apps.lock(_request_id(cmd.request_id), tenant))
            await apps.save(app, app.delete(_who(cmd.actor), version=cmd.version))
            return await self._kept(apps, cmd, c.Deleted(request_id=str(app.id)))

    @staticmethod
    async def _kept(apps: Applications, cmd: c.CreateCommand | c.UpdateCommand | c.TransitionCommand, reply: R) -> R:
        """The command's reply, kept with its Idempotency-Key in the command's transaction."""
        await apps.complete(cmd.actor, cmd.idempotency, reply)
        return reply

    # --- the attachment service's news --------------------------------------------------------------

    @answering
    async def attachments_changed(self, cmd: c.AttachmentsChanged) -> c.AttachmentsRevision:
        tenant = _tenant(cmd.actor)
        async with self.store.transaction() as apps:
            app = _found(await apps.lock(_request_id(cmd.request_id), tenant))
            await apps.save(app, app.attachments_changed(count=cmd.count, damaged=cmd.damaged))
        return c.AttachmentsRevision(attachments_revision=app.attachments_revision)

    async def attachments_damaged(self, cmd: c.AttachmentsDamaged) -> c.AttachmentsRevision:
        async with self.store.transaction() as apps:
            app = _found(await apps.lock_any(_request_id(cmd.request_id)))
            await apps.save(app, app.attachments_damaged(cmd.damaged))
        return c.AttachmentsRevision(attachments_revision=app.attachments_revision)

    # --- queries ------------------------------------------------------------------------------------

    async def get(self, ref: c.RequestRef) -> c.CoordinationRequest:
        # Officers read every application; an enterprise only its own (another's is "not found").
        tenant = None if ref.actor.role == "OFFICER" else _tenant(ref.actor)
        request_id = _request_id(ref.request_id)
        async with self.store.reading() as apps:
            app = _found(await apps.find(request_id, tenant))
            return _view(app, await apps.history(app.id) if ref.history else None)

    async def list(self, q: c.ListQuery) -> c.RequestPage:
        tenant = _tenant(q.actor)
        async with self.store.reading() as apps:
            page = await apps.page(q, tenant)
        return c.RequestPage(
            items=[_view(app) for app in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
            total_capped=page.total_capped,
        )

    # --- customs' receipt and decisions arrive only as events, inside the inbox's transaction ------------

    async def on_receipt_accepted(self, conn: Any, event: ReceiptAccepted) -> None:
        await self._customs(conn, event.request_id, lambda app: app.receive())

    async def on_receipt_rejected(self, conn: Any, event: ReceiptRejected) -> None:
        await self._customs(conn, event.request_id, lambda app: app.fail_receipt(event.reason))

    async def on_case_accepted(self, conn: Any, event: CaseAccepted) -> None:
        officer = _officer(event.officer, event.officer_username)
        await self._customs(
            conn, event.request_id, lambda app: app.decide(Action.ACCEPT, officer, seen=event.request_version)
        )

    async def on_case_returned(self, conn: Any, event: CaseReturned) -> None:
        officer = _officer(event.officer, event.officer_username)
        await self._customs(
            conn,
            event.request_id,
            lambda app: app.decide(Action.RETURN, officer, seen=event.request_version, reason=event.reason),
        )

    async def on_case_concluded(self, conn: Any, event: CaseConcluded) -> None:
        officer = _officer(event.officer, event.officer_username)
        await self._customs(
            conn,
            event.request_id,
            lambda app: app.decide(
                Action.CONCLUDE, officer, seen=event.request_version, reason=event.reply, outcome=event.outcome
            ),
        )

    async def _customs(self, conn: Any, request_id: str, move: Callable[[Application], Effects]) -> None:
        apps = self.store.within(conn)
        app = await apps.lock_any(uuid.UUID(request_id))
        if app is not None:
            await apps.save(app, move(app))


def _requests(ctx: Context) -> Requests:
    async def check_form(q: registry.FormCheck) -> registry.FormCheckResult:
        return await bus.call(ctx.nc, registry.FORM_CHECK, q, registry.FormCheckResult)

    return ctx.one("requests", lambda: Requests(PostgresStore(ctx.pool), check_form, ctx.clock))


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    svc = _requests(ctx)
    return [
        bus.Endpoint(c.CREATE, c.CreateCommand, svc.create),
        bus.Endpoint(c.UPDATE, c.UpdateCommand, svc.update),
        bus.Endpoint(c.GET, c.RequestRef, svc.get),
        bus.Endpoint(c.LIST, c.ListQuery, svc.list),
        bus.Endpoint(c.SUBMIT, c.TransitionCommand, svc.submit),
        bus.Endpoint(c.WITHDRAW, c.TransitionCommand, svc.withdraw),
        bus.Endpoint(c.DELETE, c.TransitionCommand, svc.delete),
        bus.Endpoint(c.ATTACHMENTS_CHANGED, c.AttachmentsChanged, svc.attachments_changed),
        bus.Endpoint(c.ATTACHMENTS_DAMAGED, c.AttachmentsDamaged, svc.attachments_damaged),
    ]


def consumers(ctx: Context) -> dict[type, Any]:
    svc = _requests(ctx)
    return {
        ReceiptAccepted: svc.on_receipt_accepted,
        ReceiptRejected: svc.on_receipt_rejected,
        CaseAccepted: svc.on_case_accepted,
        CaseReturned: svc.on_case_returned,
        CaseConcluded: svc.on_case_concluded,
    }


definition = ServiceDefinition(
    name="coordination_request",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
)
