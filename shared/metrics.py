"""Prometheus metrics shared by every service process (served on HEALTH_PORT at /metrics).

Counters and histograms move as work is done; the gauges of the outbox, the dead letters and the consumer are
sampled from the database and JetStream when Prometheus scrapes (`sample`), so nothing polls between scrapes.
Every replica of a service reports the same database-wide numbers: aggregate them with max, not sum.
"""

from __future__ import annotations

import asyncpg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram

from shared.contracts.events import STREAM

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
READY = Gauge("service_ready", "1 while the process's /ready check passes, else 0 (as of the last scrape)")
OUTBOX_BACKLOG = Gauge("outbox_backlog_events", "Outbox rows not yet published to JetStream")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds", "Age of the oldest outbox row not yet published (0 when there is none)"
)
DEAD_LETTERS = Gauge("dead_letter_events", "Events parked in dead_letters after too many failed deliveries")
CONSUMER_PENDING = Gauge(
    "events_consumer_pending_messages",
    "Events in the stream not yet delivered to the service's durable consumer",
    ["consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "events_consumer_ack_pending_messages",
    "Events delivered to the service's durable consumer and not yet acknowledged",
    ["consumer"],
)

_STATE = (
    "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS backlog,"
    " (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)"
    "  FROM outbox WHERE published_at IS NULL) AS oldest,"
    " (SELECT count(*) FROM dead_letters) AS dead"
)


async def sample(pool: asyncpg.Pool, js: JetStreamContext, durable: str | None, timeout: float = 2.0) -> None:
    """Sets the gauges from the outbox and dead_letters tables (one query, on the unpublished rows' partial index)
    and from the service's durable consumer, if it has one."""
    row = await pool.fetchrow(_STATE, timeout=timeout)
    OUTBOX_BACKLOG.set(row["backlog"])
    OUTBOX_OLDEST_AGE.set(float(row["oldest"]))
    DEAD_LETTERS.set(row["dead"])
    if durable is not None:
        info = await js.consumer_info(STREAM, durable, timeout=timeout)
        CONSUMER_PENDING.labels(durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(durable).set(info.num_ack_pending or 0)
