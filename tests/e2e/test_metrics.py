"""What operators scrape: the outbox, dead-letter and consumer gauges of a service, and the gateway's per-route
latency, on the internal port."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts.events import CertificateIssued
from tests.support import create, form, link, login, wait_until

pytestmark = pytest.mark.e2e


def scrape(stack, process: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{stack.health_ports[process]}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_parked_event_shows_in_the_dead_letter_gauge(stack) -> None:
    before = scrape(stack, "certificate_registry")[("dead_letter_events", ())]

    async def send_broken() -> None:
        nc = await nats.connect(stack.infra.nats_url)
        await nc.jetstream().publish(
            CertificateIssued.subject(), b'{"broken": ', headers={"Nats-Msg-Id": secrets.token_hex(8)}
        )
        await nc.close()

    asyncio.run(send_broken())
    wait_until(lambda: scrape(stack, "certificate_registry")[("dead_letter_events", ())], lambda n: n == before + 1)


def test_every_service_reports_its_outbox_and_consumer(stack) -> None:
    demo = login(stack.gateway_url)
    body = form()
    link(demo, body)
    create(demo, body)  # an event through coordination-request's outbox to customs-desk's consumer
    for process in ("coordination_request", "customs_desk"):
        drained = wait_until(
            lambda process=process: scrape(stack, process),
            lambda m, process=process: (
                m[("outbox_backlog_events", ())] == 0
                and m[("events_consumer_pending_messages", (("consumer", process),))] == 0
            ),
        )
        assert drained[("outbox_oldest_unpublished_age_seconds", ())] == 0
        assert ("events_consumer_ack_pending_messages", (("consumer", process),)) in drained
        assert drained[("service_ready", ())] == 1


def test_gateway_latency_is_labelled_by_route_not_by_path(stack) -> None:
    demo = login(stack.gateway_url)
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert demo.get(f"/api/v1/coordination-requests/{saved['id']}").status_code == 200

    metrics = scrape(stack, "gateway")
    routes = {dict(labels).get("path") for name, labels in metrics if name == "litestar_request_duration_seconds_count"}
    assert "/api/v1/coordination-requests/{request_id}" in routes
    assert not any(saved["id"] in route for route in routes if route)
    assert metrics[("service_ready", ())] == 1
    public = httpx.get(f"{stack.gateway_url}/metrics")
    assert "litestar_request_duration_seconds" not in public.text
