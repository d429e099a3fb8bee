"""An outside system reading our events: the smallest correct subscriber (README, "Subscribing to our events").

    pip install nats-py==2.16.0
    NATS_URL=tls://subscriber:PASSWORD@nats.xianghui.svc:4222 NATS_CA_FILE=ca.crt python docs/subscriber_example.py

It binds to the durable pull consumer `subscriber` (provisioned by us; the user may not create its own), fetches
batches, handles each event and acks it afterwards. Delivery is at least once: an event not acked within 30 s comes
again, so events are deduplicated by `eventId` (equal to the `Nats-Msg-Id` header). This example keeps the seen ids
in memory, which forgets them on restart; a real subscriber records the id in its own database, in the same
transaction as the effect of handling the event, and skips ids it already has.

Only nats-py and the standard library: the payloads are plain JSON (camelCase), described in
shared/contracts/asyncapi.json; within this repository, `msgspec.json.decode(data, type=...)` with the classes of
shared/contracts/events.py gives typed events. Ctrl-C (or SIGTERM) stops it after the batch in hand.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.errors
from nats.aio.msg import Msg

STREAM = "EVENTS"
DURABLE = "subscriber"
SUBJECT_PREFIX = "events."

log = logging.getLogger("subscriber")

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


async def print_event(event_type: str, event: dict[str, Any]) -> None:
    """The default handling: one line per event. Replace it with your own (raise to have the event redelivered)."""
    print(event_type, event["eventId"], event.get("requestId", ""), flush=True)


async def connect(url: str, ca_file: str | None = None) -> nats.NATS:
    """Our server gives a user replies only on `_INBOX.<user>.`: without that inbox prefix every fetch goes
    unanswered. A `tls://` URL with NATS_CA_FILE trusts that CA for the server's certificate."""
    user = urlsplit(url).username or DURABLE
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
    return await nats.connect(
        url,
        name="subscriber-example",
        inbox_prefix=f"_INBOX.{user}",
        max_reconnect_attempts=-1,
        **({"tls": tls} if tls else {}),
    )


async def consume(
    nc: nats.NATS, handle: Handler = print_event, stop: asyncio.Event | None = None, batch: int = 100
) -> None:
    """Reads the durable until `stop` is set. Events are handled one by one in stream order, which keeps the order
    in which each application's events were published."""
    stop = stop or asyncio.Event()
    seen: set[str] = set()  # in memory for the example; a real subscriber keeps these in its own store
    sub = await nc.jetstream().pull_subscribe_bind(durable=DURABLE, stream=STREAM)
    while not stop.is_set():
        try:
            msgs = await sub.fetch(batch, timeout=5)
        except nats.errors.TimeoutError:  # nothing new within 5 s
            continue
        for i, msg in enumerate(msgs):
            if not await _one(msg, handle, seen):
                # Keep the order: what came after the failed event waits for it (all are delivered again).
                for later in msgs[i + 1 :]:
                    await later.nak(delay=5)
                break


async def _one(msg: Msg, handle: Handler, seen: set[str]) -> bool:
    """Handles and acks one event; False when its handling failed (it is delivered again)."""
    try:
        event = json.loads(msg.data)
        event_id = event["eventId"]
    except (ValueError, KeyError, TypeError):
        # Not an event we can read: stop its redelivery. A real subscriber keeps it somewhere for a person to see.
        log.error("unreadable message on %s (sequence %s); dropped", msg.subject, msg.metadata.sequence.stream)
        await msg.term()
        return True
    if event_id not in seen:
        try:
            await handle(msg.subject.removeprefix(SUBJECT_PREFIX), event)
        except Exception:
            log.exception("handling %s failed; it will be delivered again", event_id)
            await msg.nak(delay=5)
            return False
        seen.add(event_id)
    await msg.ack()  # after handling: a crash before this line means the event comes again
    return True


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    nc = await connect(os.environ["NATS_URL"], os.environ.get("NATS_CA_FILE") or None)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    log.info("reading durable %s on %s", DURABLE, STREAM)  # never the URL: it holds the password
    try:
        await consume(nc, stop=stop)
    finally:
        await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
