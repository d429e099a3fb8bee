"""Prometheus metrics shared by every service process (served on HEALTH_PORT at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("nats_requests_total", "Request/reply calls handled, by subject and outcome", ["subject", "outcome"])
REQUEST_SECONDS = Histogram(
    "nats_request_seconds",
    "Time to handle a request/reply call",
    ["subject"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events taken from JetStream, by type and outcome", ["event", "outcome"]
)
EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Outbox rows published to JetStream", ["subject"])
