"""The gateway reuses a verified session for seconds (the test stack: 60 s), yet an ended session ends at once:
identity's sessions-ended event evicts it."""

from __future__ import annotations

import hashlib
from contextlib import closing

from tests.accounts import create_user, login
from tests.e2e.test_security import sql


def test_a_verified_session_is_served_from_the_cache(stack) -> None:
    username, password = create_user(stack)
    with closing(login(stack.gateway_url, username, password)) as client:
        assert client.get("/api/v1/me").status_code == 200
        # Ended behind identity's back (no event): the gateway does not ask again within its cache time.
        token = client.cookies.get("xh_session")
        sql(
            stack,
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1",
            hashlib.sha256(token.encode()).digest(),
        )
        assert client.get("/api/v1/me").status_code == 200


def test_logout_ends_the_cached_session_at_once(stack) -> None:
    username, password = create_user(stack)
    with closing(login(stack.gateway_url, username, password)) as client:
        token = client.cookies.get("xh_session")
        assert client.get("/api/v1/me").status_code == 200
        assert client.post("/api/v1/auth/logout").status_code == 200
        client.cookies.set("xh_session", token)  # a copy of the cookie kept elsewhere is worth nothing now
        gone = client.get("/api/v1/me")
        assert gone.status_code == 401 and gone.json()["code"] == "SESSION_EXPIRED"
