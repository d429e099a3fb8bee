"""Role × route: every operation of the OpenAPI document has a declared policy (gateway/access.py) and is tried
as anonymous, enterprise A, enterprise B and an officer; each is refused or allowed as its policy says."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway import access, openapi
from tests.support import PDF, create, form, login, upload

OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in openapi.document()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "delete", "patch")
)
DENIED = {401, 403}


def test_every_route_has_a_declared_policy() -> None:
    missing = [op for op in OPERATIONS if op not in access.POLICY]
    assert not missing, f"declare who may call these in gateway/access.py: {missing}"
    stale = [op for op in access.POLICY if op not in OPERATIONS]
    assert not stale, f"gateway/access.py names routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def people(stack) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        "anonymous": httpx.Client(base_url=stack.gateway_url, timeout=30),
        "A": login(stack.gateway_url),
        "B": login(stack.gateway_url, "demo2"),
        "officer": login(stack.gateway_url, "officer", "Officer@2026"),
    }
    yield clients
    for client in clients.values():
        client.close()


def _application_of(a: httpx.Client) -> dict[str, str]:
    """A fresh draft of enterprise A with one file: the resource every path parameter names."""
    saved = create(a, form())
    attachment = upload(a, saved["id"]).json()["attachment"]
    return {"request_id": saved["id"], "attachment_id": attachment["id"]}


def _call(client: httpx.Client, method: str, path: str, ids: dict[str, str]) -> httpx.Response:
    url = path.format(**ids)
    if method == "POST" and path.endswith("/attachments"):
        return client.post(url, files={"file": ("证明.pdf", PDF, "application/pdf")})
    if method in ("POST", "PUT"):
        return client.request(method, url, json={})
    return client.request(method, url)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_route_refuses_and_allows_as_declared(people: dict[str, httpx.Client], method: str, path: str) -> None:
    policy = access.POLICY[(method, path)]
    ids = _application_of(people["A"])
    anonymous = _call(people["anonymous"], method, path, ids)
    if policy == access.PUBLIC:
        assert anonymous.status_code not in DENIED, anonymous.text
        return
    assert anonymous.status_code == 401, anonymous.text
    assert set(anonymous.json()) == {"code", "message", "fields"}

    officer = _call(people["officer"], method, path, ids)
    a = _call(people["A"], method, path, ids)
    b = _call(people["B"], method, path, ids)
    if policy == access.OFFICER:
        assert officer.status_code not in DENIED, officer.text
        assert a.status_code == 403 and b.status_code == 403, (a.text, b.text)
        return
    if policy == access.ENTERPRISE:
        assert officer.status_code == 403, officer.text
    else:
        assert officer.status_code not in DENIED, officer.text
    assert a.status_code not in DENIED | {404}, a.text
    if "{request_id}" in path:
        # Another enterprise's application does not exist for B: never a 2xx, never a hint (403).
        assert b.status_code in (404, 422), b.text
    else:
        assert b.status_code not in DENIED, b.text
