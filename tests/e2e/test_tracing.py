"""One 提交 is one trace: the gateway, the services it asks, and the receipt path through the outbox and JetStream
(coordination-request → customs-desk → coordination-request), exported over OTLP/HTTP."""

from __future__ import annotations

import secrets
import time

import pytest

from tests.otlp import Receiver, Span
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.e2e
SUBMITTED = "events.coordination.request.submitted.v1"
RECEIPT = "events.customs.receipt.accepted.v1"


def _spans_until(otlp: Receiver, trace_id: str, done, timeout: float = 30.0) -> list[Span]:
    deadline = time.monotonic() + timeout
    while not done(spans := otlp.trace(trace_id)):
        if time.monotonic() > deadline:
            raise AssertionError("trace incomplete: " + ", ".join(f"{s.service}:{s.name}" for s in spans))
        time.sleep(0.1)
    return spans


def test_one_submit_is_one_trace_across_gateway_services_and_the_receipt(stack, otlp: Receiver) -> None:
    demo = login(stack.gateway_url)
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201

    # The caller starts the trace and asks for it to be recorded (the test stack samples no new trace by itself).
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    submitted = demo.post(
        f"/api/v1/coordination-requests/{saved['id']}/submit",
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
    )
    assert submitted.status_code == 200, submitted.text
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")

    def complete(spans: list[Span]) -> bool:  # each process exports on its own schedule
        seen = {(s.service, s.name) for s in spans}
        return {
            ("gateway", "POST /api/v1/coordination-requests/{request_id}/submit"),
            ("certificate-registry", "svc.registry.submit.check"),
            ("coordination-request", "svc.coordination.submit"),
            ("customs-desk", SUBMITTED),
            ("coordination-request", RECEIPT),
        } <= seen

    spans = _spans_until(otlp, trace_id, complete)
    by_id = {s.span_id: s for s in spans}

    # One tree: every span hangs from the caller's span or from another span of the same trace.
    orphans = [s for s in spans if s.parent_id != caller_span and s.parent_id not in by_id]
    assert not orphans, orphans
    assert {"gateway", "certificate-registry", "coordination-request", "customs-desk"} <= {s.service for s in spans}

    (http,) = [s for s in spans if s.service == "gateway" and s.kind == "SERVER"]
    assert http.parent_id == caller_span
    assert http.name == "POST /api/v1/coordination-requests/{request_id}/submit"  # the route, not the raw path

    # The gateway's NATS call and coordination-request's server span answering it, with its SQL beneath.
    (submit,) = [s for s in spans if s.service == "coordination-request" and s.name == "svc.coordination.submit"]
    assert submit.kind == "SERVER" and by_id[submit.parent_id].service == "gateway"
    assert any(s.parent_id == submit.span_id and s.attributes.get("db.system") == "postgresql" for s in spans)

    # Through the outbox: customs-desk consumes the submission under the submit's span, and coordination-request
    # consumes customs-desk's receipt under that.
    def ancestors(span: Span) -> list[Span]:
        chain = []
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            chain.append(span)
        return chain

    (received,) = [s for s in spans if s.service == "customs-desk" and s.name == SUBMITTED]
    assert received.kind == "CONSUMER" and submit in ancestors(received)
    (receipt,) = [s for s in spans if s.service == "coordination-request" and s.name == RECEIPT]
    assert receipt.kind == "CONSUMER" and received in ancestors(receipt)
