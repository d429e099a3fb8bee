"""customs-desk: receipt of submitted applications, the officers' queue, and their decisions.

It learns of applications only from events and tells coordination-request its decisions only by events.
A case mirrors the application's status from `status_changed` events (newest version wins); an officer's
decision changes the case at once and is confirmed, or refused, by coordination-request. Each handler loads the
case, makes the move its domain method allows, and keeps the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from services.customs_desk import domain
from services.customs_desk.domain import Case, Receipt
from services.customs_desk.repository import PostgresStore, Store
from shared import bus
from shared.clock import Clock, china_date
from shared.contracts import customs as c
from shared.contracts import registry
from shared.contracts.common import Actor
from shared.contracts.events import DecisionRefused, RequestStatusChanged, RequestSubmitted
from shared.errors import Forbidden, NotFound, ValidationFailed, answering
from shared.inbox import SKIP, Staged
from shared.runtime import Context, ServiceDefinition
from shared.workflow import STATUS_LABELS, Action, Status

CertificateLookup = Callable[[registry.CertificateKey], Awaitable[registry.CertificateInfo]]


class CaseNotFound(NotFound):
    code, message = "CASE_NOT_FOUND", "该申请不存在或尚未被海关接收"


def _officer(actor: Actor) -> None:
    if actor.role != "OFFICER":
        raise Forbidden("仅海关关员可以办理")


def _request_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CaseNotFound() from None


def _found(case: Case | None) -> Case:
    if case is None:
        raise CaseNotFound()
    return case


def _view(case: Case) -> c.Case:
    return c.Case(
        id=str(case.id),
        request_id=str(case.request_id),
        **msgspec.structs.asdict(case.form),
        status=case.status.value,
        status_label=STATUS_LABELS[case.status],
        received_at=case.received_at,
        due_at=case.due_at,
        version=case.version,
        can_accept=case.can(Action.ACCEPT),
        can_return=case.can(Action.RETURN),
        can_conclude=case.can(Action.CONCLUDE),
        awaiting_confirmation=case.awaiting_confirmation,
        decision_reason=case.decision_reason,
        outcome=case.outcome,
        reply=case.reply,
        note=case.note,
    )


class CustomsDesk:
    def __init__(self, store: Store, lookup_certificate: CertificateLookup, clock: Clock) -> None:
        self.store = store
        self.lookup_certificate = lookup_certificate
        self.clock = clock

    # --- receipt ------------------------------------------------------------------------------------

    async def certificate_problem(self, event: RequestSubmitted) -> str | None:
        """Receipt, first part, before any transaction: what the registry says is wrong with the certificate."""
        key = registry.CertificateKey(proof_type=event.form.proof_type, certificate_no=event.form.certificate_no)
        try:
            info = await self.lookup_certificate(key)
        except NotFound:
            info = None
        return domain.certificate_problem(info, china_date(self.clock.now()))

    async def on_submitted(self, conn: Any, event: RequestSubmitted, certificate_problem: str | None) -> None:
        """Receipt. The case waits for coordination-request to confirm the receipt before officers may act."""
        cases = self.store.within(conn)
        request_id = uuid.UUID(event.request_id)
        # A refused certificate is reason enough: no query for a duplicate.
        open_case = None if certificate_problem else await cases.open_case_like(event.form, request_id)
        await cases.receive(
            *Receipt.of(
                request_id,
                event.form,
                event.submitted_at,
                event.version,
                certificate_problem=certificate_problem,
                open_case=open_case,
            )
        )

    # --- the application's status, mirrored ----------------------------------------------------------

    @staticmethod
    async def status_change_matters(event: RequestStatusChanged) -> object:
        """A case exists only once its application was submitted, and the submission's own event writes it: a
        draft's creation and the move to 已申报 change no case, so they cost no transaction here."""
        return SKIP if event.from_status is None or event.to_status == Status.DECLARED else None

    async def on_status_changed(self, conn: Any, event: RequestStatusChanged, _: object = None) -> None:
        cases = self.store.within(conn)
        case = await cases.lock(uuid.UUID(event.request_id))
        # No case: not ours. A status older than the case shows changes nothing.
        if case is not None and case.follow(Status(event.to_status), event.version):
            await cases.save(case)

    async def on_decision_refused(self, conn: Any, event: DecisionRefused) -> None:
        cases = self.store.within(conn)
        case = await cases.lock(uuid.UUID(event.request_id))
        if case is not None:
            case.decision_refused(Status(event.status), event.version, event.reason)
            await cases.save(case)

    # --- officers -----------------------------------------------------------------------------------

    async def list_cases(self, q: c.CaseQuery) -> c.CasePage:
        _officer(q.actor)
        async with self.store.reading() as cases:
            page = await cases.page(q)
        return c.CasePage(
            items=[_view(case) for case in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
            total_capped=page.total_capped,
        )

    async def get_case(self, ref: c.CaseRef) -> c.Case:
        _officer(ref.actor)
        request_id = _request_id(ref.request_id)
        async with self.store.reading() as cases:
            return _view(_found(await cases.find(request_id)))

    async def accept(self, d: c.Decision) -> c.Case:
        return await self._decide(d, Action.ACCEPT)

    async def return_(self, d: c.Decision) -> c.Case:
        reason = d.reason.strip()
        if errors := domain.return_errors(reason):
            raise ValidationFailed.of(errors)
        return await self._decide(d, Action.RETURN, reason=reason)

    async def conclude(self, d: c.Decision) -> c.Case:
        reply = d.reply.strip()
        if errors := domain.conclusion_errors(d.outcome, reply):
            raise ValidationFailed.of(errors)
        return await self._decide(d, Action.CONCLUDE, outcome=d.outcome, reply=reply)

    @answering
    async def _decide(self, d: c.Decision, decision: Action, **details: str) -> c.Case:
        """The decision, with its Idempotency-Key bound first in its transaction: a retry gets the first try's
        reply, never a second decision (shared/idempotency.py)."""
        _officer(d.actor)
        async with self.store.transaction() as cases:
            if done := await cases.claim(d.actor, d.idempotency, c.Case):
                return done  # this decision's retry: the case as the first try left it
            case = _found(await cases.lock(_request_id(d.request_id)))
            await cases.save(
                case,
                case.decide(
                    decision, d.actor.display_name, officer_username=d.actor.username, version=d.version, **details
                ),
            )
            view = _view(case)
            await cases.complete(d.actor, d.idempotency, view)
        return view


def _desk(ctx: Context) -> CustomsDesk:
    async def lookup_certificate(key: registry.CertificateKey) -> registry.CertificateInfo:
        return await bus.call(ctx.nc, registry.CERTIFICATE_LOOKUP, key, registry.CertificateInfo)

    return ctx.one("desk", lambda: CustomsDesk(PostgresStore(ctx.pool), lookup_certificate, ctx.clock))


def endpoints(ctx: Context) -> list[bus.Endpoint]:
    desk = _desk(ctx)
    return [
        bus.Endpoint(c.CASE_LIST, c.CaseQuery, desk.list_cases),
        bus.Endpoint(c.CASE_GET, c.CaseRef, desk.get_case),
        bus.Endpoint(c.CASE_ACCEPT, c.Decision, desk.accept),
        bus.Endpoint(c.CASE_RETURN, c.Decision, desk.return_),
        bus.Endpoint(c.CASE_CONCLUDE, c.Decision, desk.conclude),
    ]


def consumers(ctx: Context) -> dict[type, Any]:
    desk = _desk(ctx)
    return {
        RequestSubmitted: Staged(prepare=desk.certificate_problem, apply=desk.on_submitted),
        RequestStatusChanged: Staged(prepare=desk.status_change_matters, apply=desk.on_status_changed),
        DecisionRefused: desk.on_decision_refused,
    }


definition = ServiceDefinition(
    name="customs_desk",
    migrations=Path(__file__).parent / "migrations",
    endpoints=endpoints,
    consumers=consumers,
)
