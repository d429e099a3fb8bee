"""Least-privilege NATS (shared/natsauth.py) against the running server: what each role may do works, and what it
may not is refused by the server (a permissions violation), not merely left unused by our code."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from shared import natsauth, streams
from shared.contracts.events import STREAM, CertificateRevoked, RequestCreated
from tests.support import create, form, login

Attempt = Callable[[Client], Awaitable[Any]]


@pytest.fixture(autouse=True)
def _our_users(stack) -> None:
    if not stack.infra.nats_passwords:
        pytest.skip("NATS was given from outside; its users are not ours to test")


def as_user(stack, user: str, attempt: Attempt) -> tuple[Any, list[str]]:
    """Runs `attempt` connected as `user`; its result (or the exception it raised) and the server's refusals."""

    async def run() -> tuple[Any, list[str]]:
        refusals: list[str] = []

        async def on_error(exc: Exception) -> None:
            refusals.append(str(exc).lower())

        nc = await nats.connect(
            stack.infra.nats_url_for(user), error_cb=on_error, inbox_prefix=natsauth.inbox_prefix(user)
        )
        try:
            try:
                outcome = await attempt(nc)
            except Exception as exc:  # a refused request goes unanswered: a timeout
                outcome = exc
            await nc.flush()
            await asyncio.sleep(0.3)  # the server's refusal arrives asynchronously
        finally:
            await nc.close()
        return outcome, refusals

    return asyncio.run(run())


def refused(refusals: list[str], subject: str) -> bool:
    return any("permissions violation" in r and subject.lower() in r for r in refusals)


def fetch_from(durable: str, count: int = 50) -> Attempt:
    async def attempt(nc: Client) -> list[Any]:
        sub = await nc.jetstream().pull_subscribe_bind(durable=durable, stream=STREAM)
        msgs = await sub.fetch(count, timeout=1)
        for msg in msgs:
            await msg.ack()
        return msgs

    return attempt


def test_a_subscriber_reads_every_event_through_its_own_durable(stack) -> None:
    client = login(stack.gateway_url)
    created = create(client, form())
    seen: list[RequestCreated] = []

    async def read_until_found(nc: Client) -> None:
        sub = await nc.jetstream().pull_subscribe_bind(durable="subscriber", stream=STREAM)
        for _ in range(40):
            try:
                msgs = await sub.fetch(200, timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in msgs:
                if msg.subject == RequestCreated.subject():
                    event = msgspec.json.decode(msg.data, type=RequestCreated)
                    if event.request_id == created["id"]:
                        seen.append(event)
                await msg.ack()
            if seen:
                return

    outcome, refusals = as_user(stack, "subscriber", read_until_found)
    assert outcome is None and not refusals, (outcome, refusals)
    assert seen[0].request_no == created["requestNo"]


@pytest.mark.parametrize(
    ("what", "subject", "attempt"),
    [
        (
            "publish an event",
            "events.coordination.request.created.v1",
            lambda nc: nc.jetstream(timeout=1).publish("events.coordination.request.created.v1", b"{}", timeout=1),
        ),
        (
            "create a consumer of its choice (e.g. pushing events onto a service's subject)",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.mine",
            lambda nc: nc.jetstream(timeout=1).add_consumer(
                STREAM, ConsumerConfig(durable_name="mine", filter_subjects=["events.>"]), timeout=1
            ),
        ),
        (
            "delete the stream",
            f"$JS.API.STREAM.DELETE.{STREAM}",
            lambda nc: nc.jetstream(timeout=1).delete_stream(STREAM),
        ),
        (
            "delete its own consumer",
            f"$JS.API.CONSUMER.DELETE.{STREAM}.subscriber",
            lambda nc: nc.jetstream(timeout=1).delete_consumer(STREAM, "subscriber"),
        ),
        ("read a service's consumer", f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.customs_desk", fetch_from("customs_desk")),
        ("listen to requests", "svc.>", lambda nc: nc.subscribe("svc.>")),
        ("read other users' replies", "_INBOX.>", lambda nc: nc.subscribe("_INBOX.>")),
    ],
)
def test_a_subscriber_can_do_nothing_else(stack, what: str, subject: str, attempt: Attempt) -> None:
    _, refusals = as_user(stack, "subscriber", attempt)
    assert refused(refusals, subject), (what, refusals)


def test_an_issuer_publishes_only_the_issuing_and_declaration_systems_events(stack) -> None:
    revoked = CertificateRevoked(  # of no certificate the registry knows: it changes nothing there
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        proof_type="CUSTOMS_CO",
        certificate_no=f"K26{uuid.uuid4().int % 10**11:011d}",
    )

    async def publish_own(nc: Client) -> Any:
        return await nc.jetstream().publish(
            revoked.subject(), msgspec.json.encode(revoked), headers={"Nats-Msg-Id": revoked.event_id}
        )

    ack, refusals = as_user(stack, "issuer", publish_own)
    assert ack.stream == STREAM and not refusals, (ack, refusals)
    for subject in ("events.coordination.request.submitted.v1", "events.customs.case.concluded.v1"):
        _, refusals = as_user(
            stack, "issuer", lambda nc, s=subject: nc.jetstream(timeout=1).publish(s, b"{}", timeout=1)
        )
        assert refused(refusals, subject), refusals


@pytest.mark.parametrize(
    ("user", "subject", "attempt"),
    [
        (
            "coordination_request",
            f"$JS.API.STREAM.UPDATE.{STREAM}",
            lambda nc: nc.jetstream(timeout=1).update_stream(streams.Topology().events()),
        ),
        (
            "coordination_request",
            f"$JS.API.STREAM.DELETE.{STREAM}",
            lambda nc: nc.jetstream(timeout=1).delete_stream(STREAM),
        ),
        (
            "coordination_request",
            f"$JS.API.CONSUMER.DELETE.{STREAM}.coordination_request",
            lambda nc: nc.jetstream(timeout=1).delete_consumer(STREAM, "coordination_request"),
        ),
        (
            "coordination_request",
            f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.customs_desk",
            fetch_from("customs_desk"),
        ),
        ("coordination_request", "_INBOX.>", lambda nc: nc.subscribe("_INBOX.>")),
        ("coordination_request", "svc.identity.login", lambda nc: nc.subscribe("svc.identity.login")),
        (
            "gateway",
            "events.identity.sessions.ended.v1",
            lambda nc: nc.publish("events.identity.sessions.ended.v1", b"{}"),
        ),
        ("gateway", f"$JS.API.STREAM.DELETE.{STREAM}", lambda nc: nc.jetstream(timeout=1).delete_stream(STREAM)),
        (
            "provisioner",
            "events.origin.certificate.issued.v1",
            lambda nc: nc.publish("events.origin.certificate.issued.v1", b"{}"),
        ),
        ("provisioner", f"$JS.API.STREAM.DELETE.{STREAM}", lambda nc: nc.jetstream(timeout=1).delete_stream(STREAM)),
    ],
)
def test_services_gateway_and_provisioner_stay_in_their_lane(stack, user: str, subject: str, attempt: Attempt) -> None:
    _, refusals = as_user(stack, user, attempt)
    assert refused(refusals, subject), (user, refusals)
