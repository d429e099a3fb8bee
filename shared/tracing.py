"""OpenTelemetry traces: set up from the standard OTEL_* variables, the W3C trace context carried in NATS headers
and outbox rows. With no OTLP endpoint configured tracing stays off and every helper here returns at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import sampling
from opentelemetry.trace import SpanKind, StatusCode

from shared import logs
from shared.settings import Env

log = logging.getLogger(__name__)

SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
DEFAULT_SAMPLER = "parentbased_always_on"
PROTOCOL = "http/protobuf"  # the exporter shipped (opentelemetry-exporter-otlp-proto-http)
SHUTDOWN_SECONDS = 3.0

enabled = False
_tracer: trace.Tracer = trace.NoOpTracer()
_provider: Any = None


@dataclass(frozen=True)
class Settings:
    """What OTEL_* asks for; `endpoint` None means tracing is off."""

    endpoint: str | None
    service_name: str
    sampler: str = DEFAULT_SAMPLER
    ratio: float = 1.0


def settings_from_env(env: Env, default_service_name: str) -> Settings:
    """Reads and checks the standard variables this suite honours; problems go to `env` like every other setting.
    The exporter itself reads the rest (OTEL_EXPORTER_OTLP_HEADERS, …_TIMEOUT, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES)."""
    service_name = env.str("OTEL_SERVICE_NAME", default_service_name)
    endpoint = env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.optional("OTEL_EXPORTER_OTLP_ENDPOINT")
    off = env.bool("OTEL_SDK_DISABLED", False) or env.str("OTEL_TRACES_EXPORTER", "otlp") == "none"
    env.require(
        env.str("OTEL_TRACES_EXPORTER", "otlp") in ("otlp", "none"), "OTEL_TRACES_EXPORTER must be otlp or none"
    )
    if endpoint:
        parts = urlsplit(endpoint)
        env.require(
            parts.scheme in ("http", "https") and bool(parts.hostname),
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, e.g. http://otel-collector:4318",
        )
    protocol = env.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.optional("OTEL_EXPORTER_OTLP_PROTOCOL")
    env.require(protocol in (None, PROTOCOL), f"OTEL_EXPORTER_OTLP_PROTOCOL must be {PROTOCOL} (got {protocol!r})")
    sampler = env.choice("OTEL_TRACES_SAMPLER", DEFAULT_SAMPLER, SAMPLERS)
    ratio = 1.0
    if sampler.endswith("traceidratio"):
        raw = env.str("OTEL_TRACES_SAMPLER_ARG", "1.0")
        try:
            ratio = float(raw)
        except ValueError:
            ratio = -1.0
        env.require(0.0 <= ratio <= 1.0, f"OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got {raw!r})")
    return Settings(endpoint=None if off else endpoint, service_name=service_name, sampler=sampler, ratio=ratio)


def setup(settings: Settings) -> None:
    """Installs the tracer provider (batching OTLP/HTTP exporter) and the asyncpg instrumentation, once per process."""
    global enabled, _tracer, _provider
    if not settings.endpoint or enabled:
        return
    # Imported only when tracing is on: a process without an endpoint never loads the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
        sampler=NoBackgroundRoots(_sampler(settings)),
        shutdown_on_exit=False,  # shutdown() does it, bounded; the SDK's own exit hook could wait 30 s
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    _tracer = provider.get_tracer("xianghui")
    enabled = True
    logs.trace_id = current_trace_id
    log.info("tracing on", extra={"fields": {"service": settings.service_name, "sampler": settings.sampler}})


def shutdown() -> None:
    """Exports what is still buffered, waiting at most SHUTDOWN_SECONDS (an unreachable collector must not hold up
    the process's exit beyond its grace period: the export goes on in a daemon thread that exit abandons)."""
    if _provider is not None:
        flusher = threading.Thread(target=_provider.shutdown, name="trace-flush", daemon=True)
        flusher.start()
        flusher.join(SHUTDOWN_SECONDS)


def _sampler(settings: Settings) -> sampling.Sampler:
    roots = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(settings.ratio),
    }
    root = roots[settings.sampler.removeprefix("parentbased_")]
    return sampling.ParentBased(root) if settings.sampler.startswith("parentbased_") else root


class NoBackgroundRoots(sampling.Sampler):
    """A database or NATS call made outside any request or event (the outbox relay's polling, probes, purges) starts
    no trace of its own; everything else is sampled as configured."""

    def __init__(self, inner: sampling.Sampler) -> None:
        self._inner = inner

    def should_sample(  # type: ignore[override]
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ) -> sampling.SamplingResult:
        if kind == SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return sampling.SamplingResult(sampling.Decision.DROP)
        return self._inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoBackgroundRoots{{{self._inner.get_description()}}}"


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid and context.trace_flags.sampled else None


def inject(headers: MutableMapping[str, str]) -> None:
    """Adds `traceparent` (and `tracestate`) of the current span to outgoing NATS headers or an outbox row."""
    if enabled:
        propagate.inject(headers)


def span(
    name: str, kind: SpanKind, *, parent: Mapping[str, str] | None = None, attributes: Mapping[str, Any] | None = None
) -> AbstractContextManager[Any]:
    """A span as the current one. `parent`: the headers of an incoming message (its trace continued, a new trace
    if it carries none); without it the current span is the parent."""
    if not enabled:
        return nullcontext()
    context = propagate.extract(parent or {}) if parent is not None else None
    return _tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


def failed(current: Any) -> None:
    """Marks the span as failed (an internal error; a refusal is an answer, not a failure)."""
    if current is not None:
        current.set_status(StatusCode.ERROR)


def name_server_span(method: str, route: str) -> None:
    """Names the gateway's HTTP server span after the route template (not the raw path) once routing found it."""
    if enabled and route:
        current = trace.get_current_span()
        if current.is_recording():
            current.update_name(f"{method} {route}")
            current.set_attribute("http.route", route)
