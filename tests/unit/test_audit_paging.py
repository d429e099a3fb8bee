"""The gateway's merge of five services' audit pages (gateway/routes/audit.py, issue 18): following `nextBefore`
shows every record once, newest first, even where records share an instant (a transaction stamps all of its
records with one time) and a service's page ends inside one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.routes.audit import merged_page
from shared.contracts.audit import AuditRecord

BASE = datetime(2026, 3, 10, tzinfo=UTC)


def record(service: str, second: int, n: int) -> AuditRecord:
    return AuditRecord(
        service=service, at=BASE + timedelta(seconds=second), actor="demo", enterprise="", action=f"A{n}",
        target="", result="SUCCESS", client="", request_id="",
    )  # fmt: skip


def walk(trail: dict[str, list[AuditRecord]], limit: int) -> list[AuditRecord]:
    """Pages as the portal asks for them: each service answers its newest `limit + 1` records older than `before`
    (as the gateway asks them); no page but the first is empty."""
    seen: list[AuditRecord] = []
    before = None
    for _ in range(10_000):
        older = ([r for r in records if before is None or r.at < before] for records in trail.values())
        pages = [sorted(records, key=lambda r: r.at, reverse=True)[: limit + 1] for records in older]
        page = merged_page(pages, limit, asked=limit + 1)
        assert len(page.items) <= limit
        assert page.items or not seen
        seen += page.items
        if page.next_before is None:
            return seen
        assert page.next_before == page.items[-1].at
        before = page.next_before
    raise AssertionError("paging never ended")


@pytest.mark.parametrize("seed", range(200))
def test_pages_show_every_record_once_newest_first(seed: int) -> None:
    rng = random.Random(seed)
    limit = rng.randint(2, 8)
    trail: dict[str, list[AuditRecord]] = {s: [] for s in ("identity", "registry", "request", "attachment", "desk")}
    per_instant: dict[int, int] = {}
    n = 0
    for service in trail:
        for _ in range(rng.randint(0, 25)):
            # Often several at one instant, within a service and across them; never more than a page holds.
            second = rng.choice([s for s in range(80) if per_instant.get(s, 0) < limit])
            per_instant[second] = per_instant.get(second, 0) + 1
            trail[service].append(record(service, second, n))
            n += 1
    assert max(per_instant.values(), default=0) > 1 or n < 2
    everything = [r for records in trail.values() for r in records]
    seen = walk(trail, limit)
    assert sorted(r.action for r in seen) == sorted(r.action for r in everything)
    assert [r.at for r in seen] == sorted((r.at for r in seen), reverse=True)


def test_more_at_one_instant_than_a_page_holds_still_ends() -> None:
    trail = {"identity": [record("identity", 5, n) for n in range(9)], "desk": [record("desk", 1, 99)]}
    seen = walk(trail, 4)
    assert seen[-1].action == "A99" and len({r.action for r in seen}) == len(seen)


def test_an_empty_trail_is_one_empty_page() -> None:
    page = merged_page([[], [], [], [], []], 20)
    assert page.items == [] and page.next_before is None
