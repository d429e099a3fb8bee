"""卡介质登录 in the portal: card number + PIN → the card agent signs the server's challenge → logged in; and what
a person sees when no card agent answers."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from shared import demo
from tests.browser.portal import ENTERPRISE, shot

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
CARD = demo.CARDS[0]


@pytest.fixture
def card_agent(stack, tmp_path: Path) -> Iterator[str]:
    """The card agent with the demo card, on the port the stack's gateway names to the portal (free at start-up)."""
    port = urlsplit(stack.card_agent_url).port
    log = (tmp_path / "agent.log").open("w")
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.identity.card_agent",
            "serve",
            "--demo",
            "--cards",
            str(tmp_path / "cards"),
            "--port",
            str(port),
            "--origin",
            stack.gateway_url,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(stack.card_agent_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if agent.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the card agent did not start: " + (tmp_path / "agent.log").read_text())
            time.sleep(0.2)
        yield stack.card_agent_url
    finally:
        agent.terminate()
        agent.wait(10)
        log.close()


def open_card_tab(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_role("tab", name="卡介质登录").click()


def test_card_login_through_the_agent(page: Page, card_agent: str) -> None:
    open_card_tab(page)
    page.get_by_role("textbox", name="卡号").fill(CARD.card_no)
    page.get_by_role("textbox", name="PIN码").fill("000000")
    page.get_by_role("button", name="卡介质登录", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="PIN码错误，还可尝试4次")).to_be_visible()
    expect(page.get_by_role("textbox", name="PIN码")).to_have_value("")
    shot(page, "card-login-wrong-pin")

    page.get_by_role("textbox", name="PIN码").fill(CARD.pin)
    with page.expect_response("**/api/v1/auth/card/login") as login:
        page.get_by_role("button", name="卡介质登录", exact=True).click()
    assert login.value.status == 200
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("tab", name="门户首页")).to_be_visible()
    expect(page.get_by_text(ENTERPRISE)).to_be_visible()
    me = page.request.get("/api/v1/me")
    assert me.ok and me.json()["username"] == CARD.username


@pytest.mark.allow_console(r"ERR_CONNECTION_REFUSED")
def test_card_login_without_the_agent_says_so(page: Page, stack) -> None:
    open_card_tab(page)
    page.get_by_role("button", name="卡介质登录", exact=True).click()
    expect(page.get_by_text("请输入卡号")).to_be_visible()
    expect(page.get_by_text("请输入PIN码")).to_be_visible()
    page.get_by_role("textbox", name="卡号").fill(CARD.card_no)
    page.get_by_role("textbox", name="PIN码").fill(CARD.pin)
    page.get_by_role("button", name="卡介质登录", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="未检测到卡介质客户端控件，请先启动")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))
    shot(page, "card-login-no-agent")
