"""Generates the AsyncAPI document of the domain events from their msgspec contracts.

`python -m shared.contracts.asyncapi` rewrites shared/contracts/asyncapi.json; a test keeps it current.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from shared import natsauth, streams
from shared.contracts.events import ALL_EVENTS, STREAM, STREAM_MAX_AGE_SECONDS, SUBJECT_PREFIX

TARGET = Path(__file__).with_name("asyncapi.json")
PUBLISHERS = {
    "coordination": "coordination-request",
    "customs": "customs-desk",
    "registry": "certificate-registry",
    "attachment": "attachment",
    "identity": "identity; the gateway drops its cached sessions of that user",
    "origin": "the issuing systems (customs origin certificates, CCPIT); consumed by certificate-registry",
    "declaration": "the customs declaration system; consumed by certificate-registry",
}
ISSUER = natsauth.ROLES["issuer"]
SUBSCRIBER = natsauth.SUBSCRIBERS[0]
PRODUCTION_HOST = "nats.xianghui.svc:4222"  # Service `nats` in the production overlay's namespace `xianghui`


def _issued_by_issuer(subject: str) -> bool:
    return any(subject.startswith(allowed.removesuffix(">")) for allowed in ISSUER.publish)


def _description() -> str:
    """How an outside system connects, what it gets and how long it is kept (README: "Subscribing to our
    events"); the figures come from the declared topology (shared/streams.py) and permissions (shared/natsauth.py)."""
    days = STREAM_MAX_AGE_SECONDS // 86400
    gib = streams.EVENTS_MAX_BYTES // 1024**3
    window = streams.DUPLICATE_WINDOW_SECONDS
    issuer_subjects = " and ".join(f"`{s}`" for s in ISSUER.publish)
    return f"""Events on the JetStream stream `{STREAM}` (subjects `{SUBJECT_PREFIX}>`), published through each \
service's transactional outbox. Within a version fields are only added, with defaults: ignore fields you do not know.

## Subscribing (other customs systems)

- **User** `{SUBSCRIBER}` (password: the operator's Secret `nats-users`, key \
`NATS_PASSWORD_{SUBSCRIBER.upper()}`). It may only read the durable pull consumer `{SUBSCRIBER}` on `{STREAM}` \
(filter `{SUBJECT_PREFIX}>`, every event; fetch, ack, consumer info): it cannot publish, create or delete \
consumers, or listen to anything else.
- **Connect** with inbox prefix `{natsauth.inbox_prefix(SUBSCRIBER)}` (nats-py: \
`inbox_prefix="{natsauth.inbox_prefix(SUBSCRIBER)}"`): replies to JetStream requests, fetches included, reach a \
user only there. Production: `tls://{SUBSCRIBER}:PASSWORD@{PRODUCTION_HOST}`, trusting the CA that issued \
the server certificate (cert-manager Certificate `nats-server-tls`, its `ca.crt`), from a namespace labelled \
`xianghui.example/nats-client=true` (NetworkPolicy `nats`).
- **Read** by binding to the durable (`pull_subscribe_bind(durable="{SUBSCRIBER}", stream="{STREAM}")`), \
fetching batches and acking each message after handling it. Example: `docs/subscriber_example.py`.

## Delivery guarantees

- **At least once.** An event not acked within {streams.ACK_WAIT_SECONDS} s is delivered again, without \
limit; at most {streams.MAX_ACK_PENDING} may be unacked at a time. Keep each event's `eventId` (equal to the \
`Nats-Msg-Id` header) in your own store, with the effect of handling it, and skip ids already seen.
- **Order**: the events of one application (`requestId`) are stored in the order they were published, and \
delivered in stream order; a redelivered event comes after events stored since, and where an event has a \
`version` (the application's) it tells a late one apart.
- The durable delivers each event once for all its readers together: several processes reading \
`{SUBSCRIBER}` share the events between them, they do not each get all of them.
- A publisher's retry of the same event within {window} s is dropped by its `Nats-Msg-Id`.

## Retention

The stream keeps events {days} days and at most {gib} GiB (the oldest go first); one event is at most \
{streams.EVENT_MAX_BYTES // 1024**2} MiB. The consumer starts from the oldest event kept and remembers its \
position, so a subscriber away for a while resumes where it stopped; one away for longer than the \
retention loses the events that expired meanwhile.

## Publishing (issuing and declaration systems)

User `issuer` (Secret key `NATS_PASSWORD_ISSUER`, inbox prefix `{natsauth.inbox_prefix("issuer")}`) may \
publish only {issuer_subjects}. Publish through JetStream (wait for the stream's ack; retry when none comes) with \
the header `Nats-Msg-Id` set to the event's `eventId`, so a retry is not stored twice. These are the operations \
with action `receive` below.
"""


def document() -> dict:
    """The AsyncAPI 3.0 document: a channel, an operation and a message for every event."""
    _, components = msgspec.json.schema_components(ALL_EVENTS, ref_template="#/components/schemas/{name}")
    channels, operations, messages = {}, {}, {}
    for event in ALL_EVENTS:
        key = event.name.replace(".", "_")
        messages[key] = _message(event)
        channels[key] = {
            "address": event.subject(),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        issued = _issued_by_issuer(event.subject())
        operations[key] = {
            "action": "receive" if issued else "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"published by {PUBLISHERS[event.name.split('.')[0]]}"
            + (" as NATS user `issuer`" if issued else ""),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "享惠受阻协调申请 domain events",
            "version": "1.0.0",
            "description": _description(),
        },
        "defaultContentType": "application/json",
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "securitySchemes": _security_schemes(),
            "messages": messages,
            "schemas": components,
        },
    }


def _message(event: type) -> dict:
    return {
        "name": event.name,
        "title": event.name,
        "summary": (event.__doc__ or "").strip().split("\n")[0] or event.name,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "Nats-Msg-Id": {"type": "string", "description": "the payload's eventId; the dedup key"},
                "Event-Type": {"type": "string", "const": event.name},
                "X-Request-Id": {"type": "string", "description": "the request that caused it, if any"},
                "traceparent": {"type": "string", "description": "W3C trace context of the cause, if traced"},
            },
        },
        "payload": {"$ref": f"#/components/schemas/{event.__name__}"},
    }


def _servers() -> dict:
    return {
        "production": {
            "host": PRODUCTION_HOST,
            "protocol": "nats",
            "title": "Production NATS cluster (TLS)",
            "description": (
                f"`tls://USER:PASSWORD@{PRODUCTION_HOST}`: TLS on every client connection, with the "
                "certificate of cert-manager's Certificate `nats-server-tls` (trust its CA's `ca.crt`; "
                "NATS_CA_FILE). Open to namespaces labelled `xianghui.example/nats-client=true`."
            ),
            "security": [{"$ref": "#/components/securitySchemes/natsUser"}],
        },
        "local": {
            "host": "127.0.0.1:{port}",
            "protocol": "nats",
            "title": "Local stack (make run)",
            "description": (
                "`nats://USER:PASSWORD@127.0.0.1:PORT`, no TLS. `make run` picks the port and fresh passwords "
                "at each start (its banner prints the address; users and passwords are in `.data/nats.conf`). "
                f"Under docker compose: `nats://{SUBSCRIBER}:dev-only-nats-{SUBSCRIBER}@nats:4222` inside "
                "the compose network."
            ),
            "variables": {"port": {"description": "the loopback port `make run` chose", "default": "4222"}},
            "security": [{"$ref": "#/components/securitySchemes/natsUser"}],
        },
    }


def _security_schemes() -> dict:
    return {
        "natsUser": {
            "type": "userPassword",
            "description": (
                "A NATS user and password (in the URL). Outside systems get `subscriber` (read every event "
                "through its durable) or `issuer` (publish the issuing and declaration systems' events); "
                "the operator hands out the password from Secret `nats-users` (`NATS_PASSWORD_<USER>`). "
                "Each user receives replies only on `_INBOX.<user>.>`: connect with that inbox prefix."
            ),
        }
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
