"""NATS as the production overlay runs it (deploy/k8s/overlays/production/nats.conf): TLS on client connections
and routes, routes authenticated with the route password. Two real nats-server processes, certificates from a
throw-away CA; our clients connect with NATS_CA_FILE as the services do."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import subprocess
import sys
from pathlib import Path

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared import bus, natsauth
from shared.devstack.infra import _tcp_open, free_port, wait_for

NATS_SERVER = str(Path(sys.executable).parent / "nats-server")
ROUTE_PASSWORD = "route-secret-for-the-test"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)  # certificates valid for years around the test run


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(directory: Path) -> None:
    """ca.crt, and tls.crt/tls.key for 127.0.0.1 and localhost, as cert-manager's Secret has them."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder(_name("test CA"), _name("test CA"), ca_key.public_key(), 1, NOW, NOW.replace(year=2036))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder(ca.subject, _name("nats"), key.public_key(), 2, NOW, NOW.replace(year=2036))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def server_config(directory: Path, name: str, client_port: int, route_port: int) -> Path:
    """The production overlay's config, with this machine's ports, directories and certificate files."""
    text = (Path(__file__).resolve().parents[2] / natsauth.PRODUCTION_CONFIG).read_text()
    text = (
        text.replace("/etc/nats-tls", str(directory))
        .replace("0.0.0.0:4222", f"127.0.0.1:{client_port}")
        .replace("0.0.0.0:6222", f"127.0.0.1:{route_port}")
        .replace("/data/jetstream", str(directory / name))
        .replace("/var/run/nats/nats.pid", str(directory / f"{name}.pid"))
    )
    text = "\n".join(line for line in text.splitlines() if not line.startswith("http:"))  # no monitoring port
    path = directory / f"{name}.conf"
    path.write_text(text)
    return path


@pytest.fixture
def tls_cluster(tmp_path: Path):
    make_pki(tmp_path)
    ports = [(free_port(), free_port()) for _ in range(2)]
    env = {"POD_NAME": "", "NATS_ROUTE_PASSWORD": ROUTE_PASSWORD}
    env |= {f"NATS_PASSWORD_{user.upper()}": f"pw-{user}" for user in natsauth.USERS}
    procs, logs = [], []
    for i, (client, route) in enumerate(ports):
        peer = ports[1 - i][1]
        conf = server_config(tmp_path, f"n{i}", client, route)
        routes = f"nats://route:{ROUTE_PASSWORD}@127.0.0.1:{peer}"
        log = open(tmp_path / f"n{i}.log", "wb")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [NATS_SERVER, "-c", str(conf), "--server_name", f"n{i}", "--routes", routes],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        for client, _ in ports:
            wait_for(lambda p=client: _tcp_open(p), "nats-server with TLS", timeout=20)
        yield tmp_path, [client for client, _ in ports], [route for _, route in ports], env
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        for log in logs:
            log.close()


def test_clients_connect_over_tls_and_messages_cross_the_authenticated_route(tls_cluster) -> None:
    directory, clients, _, _ = tls_cluster
    ca = str(directory / "ca.crt")

    async def run() -> bytes:
        sub_side = await bus.connect(f"tls://ops:pw-ops@127.0.0.1:{clients[0]}", "a", ca_file=ca)
        pub_side = await bus.connect(f"tls://ops:pw-ops@127.0.0.1:{clients[1]}", "b", ca_file=ca)
        try:
            sub = await sub_side.subscribe("crossing")
            await sub_side.flush()
            for _ in range(100):  # until the route has carried the subscription over
                await pub_side.publish("crossing", b"over the route")
                try:
                    return (await sub.next_msg(timeout=0.1)).data
                except Exception:  # noqa: S112 -- not across yet
                    continue
            raise AssertionError("no message crossed the route")
        finally:
            await sub_side.close()
            await pub_side.close()

    assert asyncio.run(run()) == b"over the route"


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_cluster) -> None:
    _, clients, _, _ = tls_cluster

    async def run() -> None:
        await nats.connect(f"tls://ops:pw-ops@127.0.0.1:{clients[0]}", allow_reconnect=False, max_reconnect_attempts=0)

    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(run())


def test_a_route_without_the_route_password_is_refused(tls_cluster) -> None:
    directory, _, routes, env = tls_cluster
    conf = server_config(directory, "intruder", free_port(), free_port())
    log = directory / "intruder.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                NATS_SERVER,
                "-c",
                str(conf),
                "--server_name",
                "intruder",
                "--routes",
                f"nats://route:guess@127.0.0.1:{routes[0]}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "authorization violation" in log.read_text().lower(), "the route refused", timeout=20)
        finally:
            proc.terminate()
            proc.wait(10)
