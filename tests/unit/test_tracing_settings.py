"""Tracing is configured by the standard OTEL_* variables, checked at start-up like every other setting."""

from __future__ import annotations

import pytest

from shared import tracing
from shared.settings import Env, SettingsError


def settings(**environ: str) -> tracing.Settings:
    env = Env(environ)
    result = tracing.settings_from_env(env, "coordination-request")
    env.done("test")
    return result


def test_without_an_endpoint_tracing_is_off() -> None:
    assert settings().endpoint is None
    assert settings(OTEL_SERVICE_NAME="other").service_name == "other"


def test_an_endpoint_turns_it_on_unless_disabled() -> None:
    on = settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://otel-collector.monitoring:4318")
    assert on.endpoint == "http://otel-collector.monitoring:4318" and on.service_name == "coordination-request"
    assert settings(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="https://collector:4318/v1/traces").endpoint
    assert settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://c:4318", OTEL_SDK_DISABLED="true").endpoint is None
    assert settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://c:4318", OTEL_TRACES_EXPORTER="none").endpoint is None


def test_sampler_and_its_ratio() -> None:
    chosen = settings(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25")
    assert (chosen.sampler, chosen.ratio) == ("parentbased_traceidratio", 0.25)
    assert settings().sampler == "parentbased_always_on"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER must be one of"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG must be"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG must"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER must be otlp or none"),
    ],
)
def test_wrong_settings_stop_the_start(environ: dict[str, str], problem: str, capsys) -> None:
    with pytest.raises(SettingsError):
        settings(**environ)
    assert problem in capsys.readouterr().err


def test_background_database_calls_start_no_trace_but_requests_do() -> None:
    from opentelemetry.sdk.trace import sampling
    from opentelemetry.trace import SpanKind

    sampler = tracing.NoBackgroundRoots(sampling.ParentBased(sampling.ALWAYS_ON))
    assert not sampler.should_sample(None, 1, "SELECT", SpanKind.CLIENT).decision.is_sampled()
    assert sampler.should_sample(None, 1, "svc.coordination.submit", SpanKind.SERVER).decision.is_sampled()
    assert sampler.should_sample(None, 1, "events.x", SpanKind.CONSUMER).decision.is_sampled()
