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
