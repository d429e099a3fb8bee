"""A steady mixed load through the gateway by careful clients: each write carries an Idempotency-Key and is
retried with the same key on 5xx, timeouts and "still in progress", within a bounded time; every request is
bounded by the client's timeout. What the server acknowledged is written to a ledger, to be checked later
against the databases."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared import demo
from shared.devstack.stack import FIXED_CAPTCHA
from tests.support import PDF, export_declaration_no

REQUEST_TIMEOUT = 10.0  # the client's bound on one request, whatever the server does
OPERATION_SECONDS = 40.0  # how long a client keeps retrying one operation before it gives up (outcome unknown)
RETRYABLE_CODES = {"REQUEST_IN_PROGRESS"}
BASE = "/api/v1/coordination-requests"
CUSTOMS = "/api/v1/customs/coordination-requests"
WITHDRAW_MARK = "[撤回]"  # in the reason: the enterprise withdraws this one, the officer leaves it alone
CERTIFICATES = {"demo": "K2631000000001", "demo2": "K2633000000901"}


@dataclass
class Application:
    token: str
    owner: str
    id: str | None = None
    version: int = 0
    reason: str = ""
    # What the server acknowledged, in order: ("create"|"save"|"upload"|"submit"|"withdraw"|"accept"|...).
    acked: list[str] = field(default_factory=list)
    attachment_ids: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # operations the server refused (4xx)


@dataclass
class Unresolved:
    kind: str
    app: Application
    client: Careful
    method: str
    path: str
    kwargs: dict[str, Any]


@dataclass
class Ledger:
    applications: dict[str, Application] = field(default_factory=dict)
    acknowledged: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)  # given up on with the outcome unknown
    resolved: Counter[str] = field(default_factory=Counter)  # acknowledged only when retried at the end
    refused: Counter[str] = field(default_factory=Counter)  # a definite refusal (4xx) of an operation
    errors: Counter[str] = field(default_factory=Counter)  # every non-2xx answer or failure, by kind
    requests: int = 0
    slowest: float = 0.0
    # Operations given up on, to be retried with the same key once everything is back (as a careful client does).
    unresolved: list[Unresolved] = field(default_factory=list)

    def by_id(self) -> dict[str, Application]:
        return {app.id: app for app in self.applications.values() if app.id}


class Careful:
    """One logged-in user of the API, behaving as a careful client does."""

    def __init__(self, base_url: str, username: str, ledger: Ledger) -> None:
        self.username = username
        self.ledger = ledger
        self.http = httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT)

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, deadline: float = 60.0) -> None:
        user = next(u for u in demo.USERS if u.username == self.username)
        give_up = time.monotonic() + deadline
        while True:
            captcha = await self._send("GET", "/api/v1/auth/captcha")
            if captcha is not None and captcha.status_code == 200:
                body = {
                    "username": user.username,
                    "password": user.password,
                    "captchaId": captcha.json()["captchaId"],
                    "captchaCode": FIXED_CAPTCHA,
                }
                response = await self._send("POST", "/api/v1/auth/login", json=body)
                if response is not None and response.status_code == 200:
                    return
            if time.monotonic() > give_up:
                raise AssertionError(f"{self.username} could not log in within {deadline:.0f} s")
            await asyncio.sleep(0.5)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One request, bounded by REQUEST_TIMEOUT in all; None when it timed out or the connection failed."""
        self.ledger.requests += 1
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(self.http.request(method, path, **kwargs), REQUEST_TIMEOUT)
        except TimeoutError:
            self.ledger.errors["client timeout"] += 1
            return None
        except httpx.TransportError as exc:
            self.ledger.errors[f"connection: {type(exc).__name__}"] += 1
            return None
        finally:
            self.ledger.slowest = max(self.ledger.slowest, time.monotonic() - started)
        if response.status_code >= 400:
            self.ledger.errors[f"{response.status_code} {_code(response)}"] += 1
        return response

    async def read(self, path: str, **kwargs: Any) -> httpx.Response | None:
        response = await self._send("GET", path, **kwargs)
        if response is not None and response.status_code == 401:
            await self.login()
            response = await self._send("GET", path, **kwargs)
        return response

    async def operation(
        self, kind: str, app: Application, method: str, path: str, *, budget: float = OPERATION_SECONDS, **kwargs: Any
    ) -> httpx.Response | None:
        """A write, retried with one Idempotency-Key (and the very same bytes) until the server gives a definite
        answer (2xx or a refusal); None when the outcome stayed unknown for `budget` seconds: the write is then kept
        to be retried with its key once everything is back."""
        if "Idempotency-Key" not in kwargs.setdefault("headers", {}):  # every write is keyed (PUT and DELETE too)
            kwargs["headers"]["Idempotency-Key"] = str(uuid.uuid4())
        give_up = time.monotonic() + budget
        pause = 0.2
        while True:
            response = await self._send(method, path, **kwargs)
            if response is not None and response.status_code == 401:
                await self.login()  # the session is kept by identity's database; a lost one is logged in again
                continue
            if response is not None and not _retryable(response):
                if response.status_code < 300:
                    self.ledger.acknowledged[kind] += 1
                else:
                    self.ledger.refused[f"{kind}: {response.status_code} {_code(response)}"] += 1
                    app.refused.append(kind)
                return response
            if time.monotonic() + pause > give_up:
                self.ledger.unknown[kind] += 1
                self.ledger.unresolved.append(Unresolved(kind, app, self, method, path, kwargs))
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


def acknowledge(app: Application, kind: str, response: httpx.Response) -> None:
    """Note what the server acknowledged for the application, for the later check against the databases."""
    if kind == "link":
        return
    if kind == "create":
        app.id, app.version = response.json()["request"]["id"], response.json()["request"]["version"]
    elif kind == "upload":
        app.attachment_ids.append(response.json()["attachment"]["id"])
    app.acked.append(kind)


async def resolve(ledger: Ledger, budget: float) -> None:
    """Once everything is back, retry each operation whose outcome stayed unknown, with its own key and bytes:
    it must come back as the first outcome (or still in progress), never be done a second time."""

    async def again(op: Unresolved) -> None:
        ledger.unknown[op.kind] -= 1
        response = await op.client.operation(op.kind, op.app, op.method, op.path, budget=budget, **op.kwargs)
        if response is not None and response.status_code < 300:
            ledger.resolved[op.kind] += 1
            acknowledge(op.app, op.kind, response)

    pending, ledger.unresolved = ledger.unresolved, []
    await asyncio.gather(*(again(op) for op in pending))


def _multipart(app: Application) -> dict[str, Any]:
    """The upload's body made once, so that every retry sends the same bytes (httpx draws a new boundary for
    each request it encodes itself)."""
    boundary = secrets.token_hex(16)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{app.token}.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return {"content": body, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def _code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
        return str(response.json()["code"])
    return "-"


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500 or (response.status_code == 409 and _code(response) in RETRYABLE_CODES)


async def enterprise(client: Careful, ledger: Ledger, stop: asyncio.Event, number: int) -> None:
    """Applications one after another: 补录, 暂存, 暂存 again, upload, 提交, then (for every third) 撤回 once 待办."""
    while not stop.is_set():
        token = f"{client.username}-{number}-{secrets.token_hex(4)}"
        app = Application(token=token, owner=client.username)
        ledger.applications[token] = app
        await _one_application(client, app, withdraw=secrets.randbelow(3) == 0, stop=stop)
        await asyncio.sleep(0.05)


async def _one_application(client: Careful, app: Application, *, withdraw: bool, stop: asyncio.Event) -> None:
    certificate = CERTIFICATES[client.username]
    declaration = export_declaration_no()
    link = await client.operation(
        "link",
        app,
        "POST",
        "/api/v1/export-declaration-links",
        json={"proofType": "CUSTOMS_CO", "certificateNo": certificate, "exportDeclarationNo": declaration},
    )
    if link is None or link.status_code != 201:
        return
    app.reason = f"故障测试 {app.token}" + (WITHDRAW_MARK if withdraw else "")
    form = {
        "proofType": "CUSTOMS_CO",
        "importCountry": "JP",
        "importPort": "JPTYO",
        "certificateNo": certificate,
        "exportDeclarationNo": declaration,
        "importDeclarationNo": f"FLT-{app.token}",  # one per application: two rows with it are a duplicate
        "reason": app.reason,
    }
    created = await client.operation("create", app, "POST", BASE, json=form)
    if created is None or created.status_code != 201:
        return
    acknowledge(app, "create", created)

    reason = app.reason + " 补充说明"
    saved = await client.operation(
        "save", app, "PUT", f"{BASE}/{app.id}", json={**form, "reason": reason, "version": app.version}
    )
    if saved is not None and saved.status_code == 200:
        app.reason, app.version = reason, saved.json()["request"]["version"]
        app.acked.append("save")
    else:  # a retried save is keyed: it replays, so a refusal here is a real one (counted by the ledger)
        return

    uploaded = await client.operation("upload", app, "POST", f"{BASE}/{app.id}/attachments", **_multipart(app))
    if uploaded is None or uploaded.status_code != 201:
        return
    acknowledge(app, "upload", uploaded)

    submitted = await client.operation("submit", app, "POST", f"{BASE}/{app.id}/submit", json={})
    if submitted is None or submitted.status_code != 200:
        return
    acknowledge(app, "submit", submitted)
    if not withdraw:
        return
    # 撤回 is allowed once customs received it (待办): wait for the receipt as a user would, bounded.
    give_up = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < give_up:
        current = await client.read(f"{BASE}/{app.id}")
        if current is not None and current.status_code == 200 and current.json()["status"] == "PENDING":
            withdrawn = await client.operation("withdraw", app, "POST", f"{BASE}/{app.id}/withdraw", json={})
            if withdrawn is not None and withdrawn.status_code == 200:
                acknowledge(app, "withdraw", withdrawn)
            return
        await asyncio.sleep(0.5)


async def officer(client: Careful, ledger: Ledger, stop: asyncio.Event) -> None:
    """Works the queue: accepts what is 待办 (unless the enterprise will withdraw it), then concludes what it
    accepted; every fourth it returns instead."""
    while not stop.is_set():
        by_id = ledger.by_id()
        worked = False
        for status, decide in (("COORDINATING", _conclude), ("PENDING", _accept_or_return)):
            page = await client.read(CUSTOMS, params={"status": status, "limit": 20})
            if page is None or page.status_code != 200:
                continue
            for case in page.json()["items"]:
                app = by_id.get(case["requestId"])
                if app is None or WITHDRAW_MARK in app.reason or case.get("awaitingConfirmation"):
                    continue
                worked |= await decide(client, app, case)
                if stop.is_set():
                    return
        await asyncio.sleep(0.05 if worked else 0.5)


async def _accept_or_return(client: Careful, app: Application, case: dict) -> bool:
    if not case.get("canAccept"):
        return False
    if int(app.token.rsplit("-", 1)[1], 16) % 4 == 0 and case.get("canReturn"):
        returned = await client.operation(
            "return", app, "POST", f"{CUSTOMS}/{app.id}/return", json={"reason": "材料不全"}
        )
        if returned is not None and returned.status_code == 200:
            acknowledge(app, "return", returned)
        return True
    accepted = await client.operation("accept", app, "POST", f"{CUSTOMS}/{app.id}/accept", json={})
    if accepted is not None and accepted.status_code == 200:
        acknowledge(app, "accept", accepted)
    return True


async def _conclude(client: Careful, app: Application, case: dict) -> bool:
    if not case.get("canConclude"):
        return False
    body = {"outcome": "SUCCESS", "reply": "已与进口国海关协调"}
    concluded = await client.operation("conclude", app, "POST", f"{CUSTOMS}/{app.id}/conclude", json=body)
    if concluded is not None and concluded.status_code == 200:
        acknowledge(app, "conclude", concluded)
    return True
