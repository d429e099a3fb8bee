"""Streams as code: the JetStream topology (the EVENTS stream and every durable consumer) declared in one
place and provisioned idempotently: created when missing, updated when the declared
configuration differs (replicas included), left alone when it matches.

Provisioning runs as the NATS user `provisioner`, the only one besides `ops` allowed to create or change them:
`NATS_URL=nats://provisioner:…@nats:4222 NATS_REPLICAS=3 python -m shared.streams` (a Job in Kubernetes, a
one-shot service in compose; the local stack runs it before the services). The services and the gateway may not
change the topology (shared/natsauth.py): at start-up they wait, not ready, until what they use exists
(`await_provisioned`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from shared import natsauth
from shared.contracts import events as ev
from shared.contracts.events import STREAM, STREAM_MAX_AGE_SECONDS, SUBJECT_PREFIX
from shared.settings import Env, nats_ca_file

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 600  # a relay re-sending a row within this window is dropped by its Nats-Msg-Id
EVENTS_MAX_BYTES = 20 * 1024**3  # the stream's disk budget; the oldest events go first beyond it (and at max age)
EVENT_MAX_BYTES = 1024**2  # one event: far above any real one (a snapshot of the form is a few KB)
ACK_WAIT_SECONDS = 30
MAX_ACK_PENDING = 1000
NO_SUITABLE_PEERS = 10005  # JetStream's error code while a cluster has fewer peers than the replicas asked


def _subjects(*events: type[ev.Event]) -> tuple[str, ...]:
    return tuple(sorted(e.subject() for e in events))


# Who reads what: each service's durable consumer (named after the service; its handlers must match, checked at
# start-up) and each outside subscriber's (everything, read-only; shared/natsauth.py).
CONSUMERS: dict[str, tuple[str, ...]] = {
    "certificate_registry": _subjects(ev.CertificateIssued, ev.CertificateRevoked, ev.DeclarationLinkReported),
    "coordination_request": _subjects(
        ev.ReceiptAccepted, ev.ReceiptRejected, ev.CaseAccepted, ev.CaseReturned, ev.CaseConcluded
    ),
    "attachment": _subjects(ev.RequestDeleted),
    "customs_desk": _subjects(ev.RequestSubmitted, ev.RequestStatusChanged, ev.DecisionRefused),
    **{name: (SUBJECT_PREFIX + ">",) for name in natsauth.SUBSCRIBERS},
}


@dataclass(frozen=True)
class Topology:
    """What is declared; `replicas` is 3 in production (a 3-node NATS cluster), 1 on a single server."""

    replicas: int = 1

    def events(self) -> StreamConfig:
        return StreamConfig(
            name=STREAM,
            description="domain events of 享惠受阻协调申请 (AsyncAPI: shared/contracts/asyncapi.json)",
            subjects=[SUBJECT_PREFIX + ">"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=float(DUPLICATE_WINDOW_SECONDS),
            max_age=float(STREAM_MAX_AGE_SECONDS),
            max_bytes=EVENTS_MAX_BYTES,
            max_msg_size=EVENT_MAX_BYTES,
            discard=DiscardPolicy.OLD,
            deny_delete=True,  # events are history: no single message is deleted, none is purged by accident
            deny_purge=True,
        )


def consumer(durable: str, subjects: list[str]) -> ConsumerConfig:
    """A service's durable pull consumer. JetStream redelivers without limit (max_deliver -1): the service's
    inbox parks an event in its dead_letters table after its own 10 attempts, so the server never gives up first
    and drops one unseen."""
    return ConsumerConfig(
        durable_name=durable,
        filter_subjects=sorted(subjects),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=float(ACK_WAIT_SECONDS),
        max_ack_pending=MAX_ACK_PENDING,
        max_deliver=-1,
    )


def topology_from_env(env: Env) -> Topology:
    """NATS_REPLICAS: 1 on a single server (the default), 3 or 5 on a cluster of at least that many nodes."""
    return Topology(replicas=int(env.choice("NATS_REPLICAS", "1", ("1", "3", "5"))))


def _differs(wanted: object, current: object, fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if getattr(wanted, f) != getattr(current, f)]


_STREAM_FIELDS = (
    "subjects",
    "retention",
    "storage",
    "num_replicas",
    "duplicate_window",
    "max_age",
    "max_bytes",
    "max_msg_size",
    "discard",
    "deny_delete",
    "deny_purge",
    "description",
)


async def _stream(js: JetStreamContext, wanted: StreamConfig) -> str:
    try:
        current = (await js.stream_info(wanted.name)).config
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(wanted)
            return "created"
        except nats.js.errors.BadRequestError:  # another process created it meanwhile
            current = (await js.stream_info(wanted.name)).config
    changed = _differs(wanted, current, _STREAM_FIELDS)
    if not changed:
        return "current"
    await js.update_stream(wanted)
    log.info("stream updated", extra={"fields": {"stream": wanted.name, "changed": ",".join(changed)}})
    return "updated " + ",".join(changed)


async def provision(js: JetStreamContext, topology: Topology, *, wait_seconds: float = 60.0) -> dict[str, str]:
    """Creates or updates the stream and every declared consumer; what happened to each (created, current,
    updated …). While a cluster is still forming (too few peers for the replicas asked) it waits, up to
    `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        try:
            outcome = {STREAM: await _stream(js, topology.events())}
            for durable, subjects in CONSUMERS.items():
                outcome[f"consumer {durable}"] = await ensure_consumer(js, consumer(durable, list(subjects)))
            return outcome
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code != NO_SUITABLE_PEERS or loop.time() > deadline:
                raise
            log.warning("too few JetStream peers for the replicas asked yet; waiting")
            await asyncio.sleep(0.5)


_CONSUMER_FIELDS = ("filter_subjects", "ack_policy", "deliver_policy", "ack_wait", "max_ack_pending", "max_deliver")


async def ensure_consumer(js: JetStreamContext, config: ConsumerConfig) -> str:
    """Creates the durable, or updates it when it exists with another configuration (a changed config is never
    silently ignored)."""
    assert config.durable_name is not None
    try:
        current = (await js.consumer_info(STREAM, config.durable_name)).config
    except nats.js.errors.NotFoundError:
        try:
            await js.add_consumer(STREAM, config)
            return "created"
        except nats.js.errors.BadRequestError:  # created meanwhile
            current = (await js.consumer_info(STREAM, config.durable_name)).config
    current.filter_subjects = sorted(_reads(current))
    changed = _differs(config, current, _CONSUMER_FIELDS)
    if not changed:
        return "current"
    await js.add_consumer(STREAM, config)  # the server's create is create-or-update for an existing durable
    log.info("consumer updated", extra={"fields": {"durable": config.durable_name, "changed": ",".join(changed)}})
    return "updated " + ",".join(changed)


def _reads(config: ConsumerConfig) -> list[str]:
    """The subjects a consumer reads, whether its config names one (`filter_subject`) or several."""
    return list(config.filter_subjects or ([config.filter_subject] if config.filter_subject else []))


async def await_provisioned(
    js: JetStreamContext, durable: str | None = None, subjects: list[str] | tuple[str, ...] = ()
) -> None:
    """Waits (without limit: the process is not ready meanwhile) until the EVENTS stream exists and, for a process
    with a durable consumer, until that consumer exists and reads every subject in `subjects`."""
    loop = asyncio.get_running_loop()
    warn_at = loop.time() + 5
    while True:
        missing = await _missing(js, durable, set(subjects))
        if missing is None:
            return
        if loop.time() >= warn_at:
            log.warning(
                "waiting for JetStream provisioning (python -m shared.streams as the provisioner user)",
                extra={"fields": {"missing": missing}},
            )
            warn_at = loop.time() + 30
        await asyncio.sleep(1)


async def _missing(js: JetStreamContext, durable: str | None, subjects: set[str]) -> str | None:
    try:
        await js.stream_info(STREAM)
        if durable is None:
            return None
        config = (await js.consumer_info(STREAM, durable)).config
    except nats.js.errors.NotFoundError as exc:
        return f"{STREAM} stream" if "stream" in (exc.description or "") else f"consumer {durable}"
    except (TimeoutError, nats.errors.Error) as exc:  # e.g. a permissions violation leaves the request unanswered
        return f"no answer from JetStream ({type(exc).__name__})"
    lacking = sorted(subjects - set(_reads(config)))
    return f"consumer {durable} without {', '.join(lacking)}" if lacking else None


async def _main() -> int:
    from shared import bus

    env = Env()
    url, ca_file, topology = env.str("NATS_URL"), nats_ca_file(env), topology_from_env(env)
    env.done("provisioning")
    nc = await bus.connect(url, "provisioning", ca_file=ca_file)
    try:
        for name, outcome in (await provision(nc.jetstream(), topology)).items():
            print(f"{name}: {outcome}")
    finally:
        await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
