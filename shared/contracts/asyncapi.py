"""Generates the AsyncAPI document of the domain events from their msgspec contracts.

`python -m shared.contracts.asyncapi` rewrites shared/contracts/asyncapi.json; a test keeps it current.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from shared.contracts.events import ALL_EVENTS, STREAM

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


def document() -> dict:
    _, components = msgspec.json.schema_components(ALL_EVENTS, ref_template="#/components/schemas/{name}")
    channels, operations, messages = {}, {}, {}
    for event in ALL_EVENTS:
        key = event.name.replace(".", "_")
        messages[key] = {
            "name": event.name,
            "title": event.name,
            "summary": (event.__doc__ or "").strip().split("\n")[0] or event.name,
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "the event id (outbox row id); dedup key"},
                    "Event-Type": {"type": "string", "const": event.name},
                    "X-Request-Id": {"type": "string", "description": "the request that caused it, if any"},
                },
            },
            "payload": {"$ref": f"#/components/schemas/{event.__name__}"},
        }
        channels[key] = {
            "address": event.subject(),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[key] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"published by {PUBLISHERS[event.name.split('.')[0]]}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "享惠受阻协调申请 domain events",
            "version": "1.0.0",
            "description": (
                f"Events on the JetStream stream {STREAM} (subjects `events.>`), published through each service's "
                "transactional outbox. Subscribers use durable consumers, deduplicate by eventId, and ignore fields "
                "they do not know; within a version fields are only added, with defaults."
            ),
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
