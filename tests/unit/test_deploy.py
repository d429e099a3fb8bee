"""The deployment artefacts validate offline: compose schema, hadolint, kustomize + kubernetes-validate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (shutil.which("kubectl") or shutil.which("kustomize")), reason="needs kubectl or kustomize")
def test_deploy_artefacts_validate() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "deploy/validate.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all validations passed" in result.stdout


def test_every_nats_config_carries_the_same_permissions() -> None:
    from shared import natsauth

    wanted = natsauth.deploy_configs(lambda path: (ROOT / path).read_text())
    for path, text in wanted.items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run python -m shared.natsauth"
    compose_file = (ROOT / "docker-compose.yml").read_text()
    for user in (*natsauth.ROLES, "provisioner"):  # each process connects as its own user
        if user in ("issuer", *natsauth.SUBSCRIBERS):
            continue  # outside systems
        assert f"NATS_URL: nats://{user}:dev-only-nats-{user.replace('_', '-')}@nats:4222" in compose_file


def test_every_nats_user_has_a_password_in_every_deployment() -> None:
    from shared import natsauth

    keys = {f"NATS_PASSWORD_{user.upper()}" for user in natsauth.USERS} | {"NATS_ROUTE_PASSWORD"}
    (statefulset,) = [d for d in _yaml_docs("deploy/k8s/base/nats.yaml") if d["kind"] == "StatefulSet"]
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"] for e in container["env"]} >= keys
    dev = (ROOT / "deploy/k8s/overlays/dev/kustomization.yaml").read_text()
    assert all(f"- {key}=" in dev for key in keys)
    # Routes authenticate: the config asks for the route password, the command line gives it to every route.
    assert "password: $NATS_ROUTE_PASSWORD" in (ROOT / "deploy/k8s/base/nats.conf").read_text()
    routes = container["command"][container["command"].index("--routes") + 1].split(",")
    assert len(routes) == statefulset["spec"]["replicas"]
    assert all(r.startswith("nats://route:$(NATS_ROUTE_PASSWORD)@nats-") for r in routes)


def test_the_nats_configs_parse() -> None:
    """Compose's and the base's; the production one (TLS) is run for real by tests/e2e/test_nats_tls.py."""
    from shared import natsauth

    nats_server = str(Path(sys.executable).parent / "nats-server")
    env = {**os.environ, "POD_NAME": "nats-0", "NATS_ROUTE_PASSWORD": "x"}
    env.update({f"NATS_PASSWORD_{u.upper()}": "x" for u in natsauth.USERS})
    for conf in ("deploy/compose/nats.conf", "deploy/k8s/base/nats.conf"):
        result = subprocess.run([nats_server, "-c", conf, "-t"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0 and "is valid" in result.stdout + result.stderr, result.stderr


def _yaml_docs(path: str) -> list[dict]:
    import yaml

    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


APP_MANIFESTS = ("identity", "certificate-registry", "coordination-request", "attachment", "customs-desk", "gateway")


def test_grace_periods_match_and_cover_the_shutdown() -> None:
    import re

    from shared import tracing

    compose = re.search(r"stop_grace_period: (\d+)s", (ROOT / "docker-compose.yml").read_text())
    assert compose
    for name in APP_MANIFESTS:
        (deployment,) = [d for d in _yaml_docs(f"deploy/k8s/base/{name}.yaml") if d["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        grace = pod["terminationGracePeriodSeconds"]
        pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        # preStop + 4 shutdown steps of at most 10 s each (shared/runtime.py _step) + the last traces' export
        assert grace >= int(pre_stop[1]) + 4 * 10 + tracing.SHUTDOWN_SECONDS, name
        assert grace == int(compose.group(1)), name


def test_connection_budget_adds_up() -> None:
    docs = {d["kind"]: d for d in _yaml_docs("deploy/k8s/overlays/production/postgres.yaml")}
    cluster, pooler = docs["Cluster"]["spec"], docs["Pooler"]["spec"]
    assert pooler["pgbouncer"]["poolMode"] == "session"  # LISTEN/NOTIFY and session advisory locks
    params = pooler["pgbouncer"]["parameters"]
    roles = cluster["managed"]["roles"]
    assert len(roles) == 5
    per_process = 10  # shared/db.py create_pool max_size
    for name in APP_MANIFESTS[:-1]:
        (hpa,) = [d for d in _yaml_docs(f"deploy/k8s/base/{name}.yaml") if d["kind"] == "HorizontalPodAutoscaler"]
        demand = (hpa["spec"]["maxReplicas"] + 2) * per_process  # + surge pod + terminating pod
        for role in roles:
            assert role["connectionLimit"] >= demand
    limit = max(r["connectionLimit"] for r in roles)
    assert int(params["default_pool_size"]) >= limit and int(params["max_db_connections"]) >= limit
    total = sum(r["connectionLimit"] for r in roles)
    assert int(params["max_client_conn"]) >= total
    overhead = pooler["instances"] + 10 + 3  # auth_query per PgBouncer, operator/exporter, superuser reserved
    assert int(cluster["postgresql"]["parameters"]["max_connections"]) >= total + overhead


# Series that other exporters provide: Prometheus itself, and prometheus-nats-exporter (base/nats-exporter.yaml,
# -varz -routez -jsz=all; names as the exporter's default `gnatsd`/`jetstream` prefixes give them).
EXTERNAL_METRICS = {
    "up",
    "gnatsd_varz_connections",
    "gnatsd_varz_in_msgs",
    "gnatsd_varz_out_msgs",
    "gnatsd_varz_slow_consumers",
}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def _metric_names(expr: str) -> set[str]:
    """The series an expression reads: identifiers left once strings, label matchers, ranges, grouping clauses,
    function calls, keywords and numbers are taken out."""
    import re

    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b[a-z_]+\s*\(", "(", expr)  # function names
    expr = re.sub(r"\boffset\s+\w+", " ", expr)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr)) - PROMQL_WORDS
    return {n for n in names if not re.fullmatch(r"\d+[smhdwy]?|e\d*", n)}


def _exported_metrics() -> set[str]:
    """Every series name the services and the gateway export, as Prometheus sees them (with _total, _bucket, …)."""
    from litestar import Litestar, get
    from litestar.testing import TestClient
    from prometheus_client import REGISTRY

    import shared.metrics  # noqa: F401  (registers the services' metrics)
    from gateway.app import PROMETHEUS

    @get("/probe")
    async def probe() -> str:
        return "ok"

    with TestClient(Litestar([probe], middleware=[PROMETHEUS.middleware])) as client:
        client.get("/probe")  # the gateway's metrics exist once a request has been measured
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, ("",))}


def _monitoring_expressions() -> list[str]:
    import json

    rules = _yaml_docs("deploy/k8s/components/monitoring/prometheusrule.yaml")[0]
    exprs = [r["expr"] for group in rules["spec"]["groups"] for r in group["rules"]]
    dashboard = json.loads((ROOT / "deploy/k8s/components/monitoring/dashboards/xianghui.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    return exprs


def test_every_metric_alerts_and_dashboards_use_is_exported() -> None:
    exported = _exported_metrics() | EXTERNAL_METRICS
    expressions = _monitoring_expressions()
    used = set().union(*map(_metric_names, expressions))
    assert used - exported == set(), "series nothing exports"
    # The gauges this change exists for are all watched somewhere.
    for name in (
        "outbox_oldest_unpublished_age_seconds",
        "outbox_backlog_events",
        "dead_letter_events",
        "events_consumer_pending_messages",
        "events_consumer_ack_pending_messages",
        "service_ready",
        "litestar_request_duration_seconds_bucket",
    ):
        assert name in used, name


def test_the_metric_name_extraction_sees_what_an_expression_reads() -> None:
    expr = 'sum by (le, path) (rate(litestar_request_duration_seconds_bucket{job="x", path=~"/a"}[5m])) > 0.5'
    assert _metric_names(expr) == {"litestar_request_duration_seconds_bucket"}
    assert _metric_names("count by (s) (up offset 1h) unless max(dead_letter_events) == 1") == {
        "up",
        "dead_letter_events",
    }
