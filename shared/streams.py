"""Streams as code: the JetStream topology (the EVENTS stream and the durable consumers) declared in one place and provisioned idempotently: created when missing, updated when the declared
configuration differs (replicas included), left alone when it matches.

Every process provisions at start-up before it reports ready (concurrent provisioning converges: each writes the
same declaration). Operators can also run it alone, e.g. as a Job before a rollout:
`NATS_URL=… NATS_REPLICAS=3 python -m shared.streams`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

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

from shared.contracts.events import STREAM, STREAM_MAX_AGE_SECONDS, SUBJECT_PREFIX
from shared.settings import Env

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 600  # a relay re-sending a row within this window is dropped by its Nats-Msg-Id
EVENTS_MAX_BYTES = 20 * 1024**3  # the stream's disk budget; the oldest events go first beyond it (and at max age)
EVENT_MAX_BYTES = 1024**2  # one event: far above any real one (a snapshot of the form is a few KB)
ACK_WAIT_SECONDS = 30
MAX_ACK_PENDING = 1000
NO_SUITABLE_PEERS = 10005  # JetStream's error code while a cluster has fewer peers than the replicas asked


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
    """Creates or updates the stream; what happened to it (created, current, updated …).
    While a cluster is still forming (too few peers for the replicas asked) it waits, up to `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        try:
            return {STREAM: await _stream(js, topology.events())}
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code != NO_SUITABLE_PEERS or loop.time() > deadline:
                raise
            log.warning("too few JetStream peers for the replicas asked yet; waiting")
            await asyncio.sleep(0.5)


async def ensure_consumer(js: JetStreamContext, config: ConsumerConfig) -> None:
    """Creates the durable, or updates it when it exists with an older configuration (a changed config is never
    silently ignored)."""
    try:
        await js.add_consumer(STREAM, config)
    except nats.js.errors.BadRequestError:
        await js.update_consumer(STREAM, config)


async def _main() -> int:
    from shared import bus

    env = Env()
    url, topology = env.str("NATS_URL"), topology_from_env(env)
    env.done("provisioning")
    nc = await bus.connect(url, "provisioning")
    try:
        for name, outcome in (await provision(nc.jetstream(), topology)).items():
            print(f"{name}: {outcome}")
    finally:
        await nc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
