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
    from shared.devstack import natsauth

    users = [*natsauth.MATRIX, natsauth.OPS]
    compose = natsauth.render({u: f"dev-only-nats-{u.replace('_', '-')}" for u in users})
    k8s = natsauth.render({u: f"$NATS_PASSWORD_{u.upper()}" for u in users})
    assert compose in (ROOT / "deploy/compose/nats.conf").read_text()
    assert k8s in (ROOT / "deploy/k8s/base/nats.conf").read_text()
    compose_file = (ROOT / "docker-compose.yml").read_text()
    for user in natsauth.MATRIX:  # each process connects as its own user
        assert f"NATS_URL: nats://{user}:dev-only-nats-{user.replace('_', '-')}@nats:4222" in compose_file


def test_the_nats_configs_parse() -> None:
    nats_server = str(Path(sys.executable).parent / "nats-server")
    env = {**os.environ, "POD_NAME": "nats-0"}
    env.update(
        {
            f"NATS_PASSWORD_{u}": "x"
            for u in (
                "IDENTITY",
                "CERTIFICATE_REGISTRY",
                "COORDINATION_REQUEST",
                "ATTACHMENT",
                "CUSTOMS_DESK",
                "GATEWAY",
                "OPS",
            )
        }
    )
    for conf in ("deploy/compose/nats.conf", "deploy/k8s/base/nats.conf"):
        result = subprocess.run([nats_server, "-c", conf, "-t"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode == 0 and "is valid" in result.stdout + result.stderr, result.stderr


def _yaml_docs(path: str) -> list[dict]:
    import yaml

    return [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d]


APP_MANIFESTS = ("identity", "certificate-registry", "coordination-request", "attachment", "customs-desk", "gateway")


def test_grace_periods_match_and_cover_the_shutdown() -> None:
    import re

    compose = re.search(r"stop_grace_period: (\d+)s", (ROOT / "docker-compose.yml").read_text())
    assert compose
    for name in APP_MANIFESTS:
        (deployment,) = [d for d in _yaml_docs(f"deploy/k8s/base/{name}.yaml") if d["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        grace = pod["terminationGracePeriodSeconds"]
        pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        # preStop + 4 shutdown steps of at most 10 s each (shared/runtime.py _step)
        assert grace >= int(pre_stop[1]) + 4 * 10, name
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
