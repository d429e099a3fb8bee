"""Helpers for tests that drive the public API over real HTTP."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from shared import demo
from shared.devstack.stack import FIXED_CAPTCHA

T = TypeVar("T")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def login(base_url: str, username: str = "demo", password: str = demo.DEMO_PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    captcha = client.get("/api/v1/auth/captcha").json()
    response = client.post(
        "/api/v1/auth/login",
        json={
            "username": username,
            "password": password,
            "captchaId": captcha["captchaId"],
            "captchaCode": FIXED_CAPTCHA,
        },
    )
    assert response.status_code == 200, response.text
    return client


def export_declaration_no() -> str:
    """A fresh, well-formed export declaration number (18 digits, 9th is 0).

    Drawn from `secrets`, not `random`: Hypothesis reseeds `random`, which would repeat numbers across examples.
    """
    return "3101" + "2026" + "0" + f"{secrets.randbelow(10**9):09d}"


def form(**overrides: Any) -> dict[str, Any]:
    body = {
        "proofType": "CUSTOMS_CO",
        "importCountry": "JP",
        "importPort": "JPTYO",
        "certificateNo": "K2631000000001",
        "exportDeclarationNo": export_declaration_no(),
        "importDeclarationNo": "JP-IMP-2026-0001",
        "reason": "日本海关以原产地证书签发日期晚于出运日期为由拒绝给予RCEP协定税率。",
    }
    body.update(overrides)
    return body


def link(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/export-declaration-links",
        json={
            "proofType": body["proofType"],
            "certificateNo": body["certificateNo"],
            "exportDeclarationNo": body["exportDeclarationNo"],
        },
    )
    assert response.status_code == 201, response.text


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/coordination-requests", json=body)
    assert response.status_code == 201, response.text
    return response.json()["request"]


def upload(
    client: httpx.Client, request_id: str, content: bytes = PDF, filename: str = "证明材料.pdf"
) -> httpx.Response:
    return client.post(
        f"/api/v1/coordination-requests/{request_id}/attachments",
        files={"file": (filename, content, "application/octet-stream")},
    )


def wait_until(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 15.0) -> T:
    """Poll what a user would look at until it shows the expected state (events are asynchronous)."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"state not reached within {timeout}s; last seen: {value}")
        time.sleep(0.05)
        value = fetch()
    return value


def status_of(client: httpx.Client, request_id: str) -> Callable[[], dict[str, Any]]:
    return lambda: client.get(f"/api/v1/coordination-requests/{request_id}").json()
