"""Event contracts: names follow the convention, payloads round-trip, and the AsyncAPI file is current."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

from shared.contracts import asyncapi
from shared.contracts.events import ALL_EVENTS, RequestStatusChanged, RequestWithdrawn

NAME = re.compile(r"[a-z]+\.[a-z_]+\.[a-z_]+\.v[0-9]+")


def test_event_names_follow_the_convention_and_are_unique() -> None:
    names = [e.name for e in ALL_EVENTS]
    assert len(names) == len(set(names))
    assert all(NAME.fullmatch(n) for n in names), names


def test_consumers_tolerate_fields_they_do_not_know_and_defaults_fill_old_payloads() -> None:
    newer = b'{"eventId":"e1","occurredAt":"2026-11-27T00:00:00Z","requestId":"r","creditCode":"c","futureField":1}'
    assert msgspec.json.decode(newer, type=RequestWithdrawn).request_id == "r"
    older = b'{"eventId":"e2","occurredAt":"2026-11-27T00:00:00Z","requestId":"r","creditCode":"c","fromStatus":null,"toStatus":"DRAFT"}'
    assert msgspec.json.decode(older, type=RequestStatusChanged).version == 0


def test_events_round_trip() -> None:
    event = RequestWithdrawn(event_id="e", occurred_at=datetime.now(UTC), request_id="r", credit_code="c")
    assert msgspec.json.decode(msgspec.json.encode(event), type=RequestWithdrawn) == event


def test_the_asyncapi_document_is_current() -> None:
    assert asyncapi.TARGET.read_text(encoding="utf-8") == asyncapi.render(), (
        "run `python -m shared.contracts.asyncapi` and commit the result"
    )
