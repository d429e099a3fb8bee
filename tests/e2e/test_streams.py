"""Streams as code (shared/streams.py) against real nats-server processes: provisioning is idempotent, repairs a
stream that drifted from its declaration, and on a three-node cluster makes the stream R3, so losing one node loses
no acknowledged event."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from shared import streams
from shared.contracts.events import STREAM
from shared.devstack.infra import free_port

NATS_SERVER = str(Path(sys.executable).parent / "nats-server")


def start_server(tmp: Path, name: str, port: int, *cluster: str) -> subprocess.Popen:
    args = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port), "-n", name, "-js", "-sd", str(tmp / name)]
    if cluster:
        own, *routes = cluster
        args += ["--cluster_name", "xh", "--cluster", own, "--routes", ",".join(routes)]
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def connect(*urls: str):
    """A client once JetStream answers (a cluster first elects its meta leader)."""
    for _ in range(100):  # the servers take a moment to listen
        try:
            nc = await nats.connect(list(urls), connect_timeout=2, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
            break
        except (OSError, nats.errors.NoServersError):
            await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no NATS server answered at {urls}")
    js = nc.jetstream(timeout=5)
    for _ in range(150):
        try:
            await js.account_info()
            return nc, js
        except Exception:
            await asyncio.sleep(0.2)
    raise AssertionError("JetStream never became available")


@pytest.fixture
def single(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = start_server(tmp_path, "solo", port)
    yield f"nats://127.0.0.1:{port}"
    stop(server)


def test_provisioning_twice_changes_nothing_and_repairs_drift(single: str) -> None:
    async def scenario() -> None:
        nc, js = await connect(single)
        try:
            topology = streams.Topology(replicas=1)
            consumers = [f"consumer {durable}" for durable in streams.CONSUMERS]
            assert await streams.provision(js, topology) == dict.fromkeys([STREAM, *consumers], "created")
            assert await streams.provision(js, topology) == dict.fromkeys([STREAM, *consumers], "current")

            # A stream made by an older release (a shorter duplicate window, no size limit) is brought in line.
            drifted = (await js.stream_info(STREAM)).config
            drifted.duplicate_window, drifted.max_bytes = 60.0, -1
            await js.update_stream(drifted)
            outcome = await streams.provision(js, topology)
            assert outcome[STREAM] == "updated duplicate_window,max_bytes"
            config = (await js.stream_info(STREAM)).config
            assert config.duplicate_window == streams.DUPLICATE_WINDOW_SECONDS
            assert config.max_bytes == streams.EVENTS_MAX_BYTES and config.deny_delete and config.deny_purge

            # A declared consumer left with an older configuration (fewer subjects, another limit) is brought in
            # line by the next provisioning.
            older = streams.consumer("customs_desk", list(streams.CONSUMERS["customs_desk"][:1]))
            older.max_ack_pending = 10
            await js.add_consumer(STREAM, older)
            outcome = await streams.provision(js, topology)
            assert outcome["consumer customs_desk"] == "updated filter_subjects,max_ack_pending"
            info = await js.consumer_info(STREAM, "customs_desk")
            assert sorted(info.config.filter_subjects) == list(streams.CONSUMERS["customs_desk"])

            # A durable whose filter changed is updated, not silently kept.
            await streams.ensure_consumer(js, streams.consumer("svc", ["events.a.v1"]))
            await streams.ensure_consumer(js, streams.consumer("svc", ["events.a.v1", "events.b.v1"]))
            info = await js.consumer_info(STREAM, "svc")
            assert sorted(info.config.filter_subjects) == ["events.a.v1", "events.b.v1"]
            assert info.config.max_deliver == -1
        finally:
            await nc.close()

    asyncio.run(scenario())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[str], list[subprocess.Popen]]]:
    ports, routes = [free_port() for _ in range(3)], [free_port() for _ in range(3)]
    urls = [f"nats://127.0.0.1:{p}" for p in ports]
    route_urls = [f"nats://127.0.0.1:{p}" for p in routes]
    servers = [
        start_server(tmp_path, f"n{i}", ports[i], route_urls[i], *(r for j, r in enumerate(route_urls) if j != i))
        for i in range(3)
    ]
    yield urls, servers
    for server in servers:
        stop(server)


@pytest.mark.skipif(os.environ.get("NATS_URL") is not None, reason="uses its own nats-server processes")
def test_on_three_nodes_the_stream_is_r3_and_survives_losing_a_node(cluster) -> None:
    urls, servers = cluster

    async def scenario() -> None:
        nc, js = await connect(*urls)
        try:
            # An R1 stream left by a single-node past is raised to R3.
            await streams.provision(js, streams.Topology(replicas=1))
            outcome = await streams.provision(js, streams.Topology(replicas=3))  # waits for all three peers
            # (an attempt refused half-way may have raised the stream already: then it reads "current")
            assert outcome[STREAM] in ("updated num_replicas", "current")
            for _ in range(100):  # the new peers join the stream's group
                info = await js.stream_info(STREAM)
                peers = info.cluster.replicas or []
                if len(peers) == 2 and all(peer.current for peer in peers):
                    break
                await asyncio.sleep(0.1)
            assert info.config.num_replicas == 3 and len(info.cluster.replicas or []) == 2, info.cluster
            await streams.ensure_consumer(js, streams.consumer("reader", ["events.test.>"]))

            for i in range(50):
                await js.publish(f"events.test.{i}", b"{}", headers={"Nats-Msg-Id": f"before-{i}"})
            # Lose the node that leads the stream: the other two elect a new leader and go on.
            for _ in range(100):  # both followers have every event before the leader goes
                info = await js.stream_info(STREAM)
                if all(peer.current and not peer.lag for peer in info.cluster.replicas or []):
                    break
                await asyncio.sleep(0.1)
            leader = info.cluster.leader
            victim = servers[int(leader.removeprefix("n"))]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            for i in range(50):
                for _ in range(100):
                    try:
                        await js.publish(f"events.test.{i}", b"{}", headers={"Nats-Msg-Id": f"after-{i}"})
                        break
                    except Exception:
                        await asyncio.sleep(0.1)  # while the new leader is elected

            reader = await js.pull_subscribe_bind(durable="reader", stream=STREAM)
            seen: set[str] = set()
            for _ in range(300):  # the durable's own leader may have been on the lost node too
                try:
                    for msg in await reader.fetch(50, timeout=1):
                        seen.add(msg.headers["Nats-Msg-Id"])
                        await msg.ack()
                except Exception:
                    await asyncio.sleep(0.2)
                if len(seen) == 100:
                    break
            assert seen == {f"before-{i}" for i in range(50)} | {f"after-{i}" for i in range(50)}
        finally:
            await nc.close()

    asyncio.run(scenario())
