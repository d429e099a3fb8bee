"""A consumer's batch is split by application: each application's events keep their stream order, events that
concern no application (certificates, links) and undecodable ones stay together in order."""

from __future__ import annotations

from types import SimpleNamespace

import msgspec

from shared.inbox import _by_application


def msg(seq: int, request_id: str | None) -> SimpleNamespace:
    body = {"eventId": str(seq)} | ({"requestId": request_id} if request_id is not None else {})
    return SimpleNamespace(seq=seq, data=msgspec.json.encode(body))


def test_each_applications_events_keep_their_order() -> None:
    batch = [msg(1, "a"), msg(2, "b"), msg(3, "a"), msg(4, None), msg(5, "c"), msg(6, "b"), msg(7, None)]
    batch.append(SimpleNamespace(seq=8, data=b"not json"))
    groups = {key: [m.seq for m in msgs] for key, msgs in _by_application(batch).items()}
    assert groups == {"a": [1, 3], "b": [2, 6], "": [4, 7, 8], "c": [5]}
