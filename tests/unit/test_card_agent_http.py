"""The card agent's loopback server: signs for the portal's origin only, on 127.0.0.1, never for a foreign Host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.portal import content_security_policy
from gateway.settings import Settings
from services.identity import sm2
from services.identity.card_agent.keyfile import demo_card_path
from services.identity.card_agent.server import serve
from shared import demo

PORTAL = "http://127.0.0.1:8000"
CARD = demo.CARDS[0]


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    demo_card_path(tmp_path)
    server = serve(tmp_path, 0, frozenset({PORTAL}))
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_agent_signs_for_the_portal(agent: str) -> None:
    assert agent.startswith("http://127.0.0.1:")
    preflight = httpx.options(
        agent + "/sign",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    response = httpx.post(
        agent + "/sign",
        json={"cardNo": CARD.card_no, "pin": CARD.pin, "challenge": "ab" * 32},
        headers={"Origin": PORTAL},
    )
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == PORTAL
    pk = sm2.public_key(sm2.private_key_from_seed(CARD.key_seed))
    assert sm2.verify(pk, bytes.fromhex("ab" * 32), bytes.fromhex(response.json()["signature"]))
    wrong = httpx.post(agent + "/sign", json={"cardNo": CARD.card_no, "pin": "000000", "challenge": "ab"})
    assert wrong.status_code == 403 and wrong.json() == {"code": "PIN_WRONG", "message": "PIN码错误，还可尝试4次"}
    missing = httpx.post(agent + "/sign", json={"cardNo": "8800000000999", "pin": "1", "challenge": "ab"})
    assert missing.status_code == 404 and missing.json()["code"] == "CARD_NOT_FOUND"
    assert httpx.post(agent + "/sign", content=b"not json").status_code == 400


def test_the_agent_refuses_other_origins_and_hosts(agent: str) -> None:
    body = {"cardNo": CARD.card_no, "pin": CARD.pin, "challenge": "ab"}
    evil = httpx.post(agent + "/sign", json=body, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    preflight = httpx.options(agent + "/sign", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403
    # DNS rebinding: a foreign name pointed at 127.0.0.1 arrives with its own Host.
    rebound = httpx.post(agent + "/sign", json=body, headers={"Host": "evil.example", "Origin": PORTAL})
    assert rebound.status_code == 403 and rebound.json()["code"] == "FORBIDDEN_HOST"


def test_gateway_csp_allows_the_agent_origin() -> None:
    env = {"NATS_URL": "nats://127.0.0.1:4222"}
    default = Settings.from_env(env)
    assert default.card_agent_url == "http://127.0.0.1:8765"
    csp = content_security_policy(default.card_agent_origin)
    assert "connect-src 'self' http://127.0.0.1:8765;" in csp
    custom = Settings.from_env({**env, "CARD_AGENT_URL": "http://localhost:9000/"})
    assert custom.card_agent_origin == "http://localhost:9000"
    with pytest.raises(SystemExit):
        Settings.from_env({**env, "CARD_AGENT_URL": "javascript:alert(1)"})
