"""Lighthouse (issue 18): accessibility and best practices at 100 on 登录, the application form and 查询.

Lighthouse 12.2.3 (pinned in portal/package.json) runs with the venv's Node against the test stack and Debian's
Chromium (CHROME_PATH), with the same headless flags as the browser tests and Lighthouse's desktop preset (1350 px
wide: the portal is laid out for 1280×720 and up, not for the default's 412 px phone). 登录 is measured twice: at
/login, and at / as a first visit meets it (redirected to /login). The two pages behind the login get the
session of a fresh API login through --extra-headers (a Cookie header on every request Lighthouse's Chromium makes).
A failing run prints every audit below full marks with what it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lighthouse import LighthouseError, run
from tests.support import login

pytestmark = pytest.mark.browser

CATEGORIES = ("accessibility", "best-practices")


def lighthouse(chromium: Path, url: str, cookie: str | None = None) -> dict[str, Any]:
    try:
        return run(url, CATEGORIES, cookie=cookie, chromium=chromium)
    except LighthouseError as error:
        pytest.fail(str(error))


def shortfalls(report: dict[str, Any]) -> dict[str, list[str]]:
    """Per category, every audit that counts and is below full marks: id, title and the items it lists."""
    found: dict[str, list[str]] = {}
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] == 0 or audit["score"] is None or audit["score"] >= 1:
                continue
            items = (audit.get("details") or {}).get("items") or []
            lines = [f"{audit['id']}: {audit['title']} (score {audit['score']})"]
            for item in items[:10]:
                node = item.get("node") or {}
                lines.append(
                    "    "
                    + " ".join(
                        str(x)
                        for x in (
                            item.get("description") or node.get("snippet") or "",
                            item.get("url") or (item.get("sourceLocation") or {}).get("url") or node.get("selector"),
                        )
                        if x
                    )
                )
            found.setdefault(category, []).append("\n".join(lines))
    return found


def scores(report: dict[str, Any]) -> dict[str, float]:
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


@pytest.fixture(scope="module")
def session_cookie(stack) -> str:
    client: httpx.Client = login(stack.gateway_url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    client.close()
    return cookie


def assert_full_marks(report: dict[str, Any], where: str) -> None:
    found = shortfalls(report)
    assert not found, f"Lighthouse on {where}: {scores(report)}\n" + "\n".join(
        f"[{category}]\n" + "\n".join(lines) for category, lines in found.items()
    )


@pytest.mark.parametrize("path", ["/login", "/"], ids=["login", "root-redirected-to-login"])
def test_login(chromium: Path, stack, path: str) -> None:
    report = lighthouse(chromium, f"{stack.gateway_url}{path}")
    assert "/login" in report["finalDisplayedUrl"], report["finalDisplayedUrl"]
    print(f"Lighthouse 登录 ({path}): {scores(report)}")
    # A first visit asks GET /api/v1/session (200, with or without a user): no 401 in the console any more.
    assert_full_marks(report, "登录")


@pytest.mark.parametrize("path", ["/xh/apply/CUSTOMS_CO", "/xh/query"], ids=["application-form", "query"])
def test_pages_behind_the_login(chromium: Path, stack, session_cookie: str, path: str) -> None:
    report = lighthouse(chromium, f"{stack.gateway_url}{path}", cookie=session_cookie)
    assert report["finalDisplayedUrl"].endswith(path), f"not logged in: ended on {report['finalDisplayedUrl']}"
    print(f"Lighthouse {path}: {scores(report)}")
    assert_full_marks(report, path)
