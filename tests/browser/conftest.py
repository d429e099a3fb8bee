"""Browser tests: the portal in Debian's Chromium (headless), driven by Playwright against the whole test stack.

`browser` is one Chromium for all of them; `page` is a fresh context (own cookies) per test that fails the
test on any console error or uncaught page error, and saves test-results/screenshots/<test>.png at the end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from shared.clock import CHINA
from tests.browser.portal import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

VIEWPORT = {"width": 1280, "height": 720}

# Chromium logs every HTTP error response as a console error. A 4xx is the API refusing something on purpose
# (400 wrong captcha, 401 wrong password, 422 submit checks, 409/422 refused delete); the portal shows each of those
# to the user, and the tests assert that it does. 5xx are not ignored. (Nobody logged in is not one of them: the
# portal asks /api/v1/session, which answers 200; test_login checks that a visit to 登录 logs nothing.)
EXPECTED_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d ")

expect.set_options(timeout=10_000)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the portal in Chromium against the whole stack")
    config.addinivalue_line("markers", "allow_console(pattern): console errors matching it are expected")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must have it", pytrace=False)
        print(f"\nskipping browser tests: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium: Path, stack) -> Iterator[Browser]:
    """One Chromium for every browser test.

    Package scope rather than session: Playwright's sync API keeps an event loop running in this thread while it
    is open, and asyncio.run() (used by the stack's start-up and by some e2e tests) refuses to run under it. So
    the stack starts first, and Playwright stops once the last browser test is done.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, stack, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        base_url=stack.gateway_url,
        viewport=VIEWPORT,
        locale="zh-CN",
        timezone_id=CHINA.key,
        accept_downloads=True,
    )
    page = context.new_page()
    problems: list[str] = []
    expected = [EXPECTED_REFUSAL, *(re.compile(m.args[0]) for m in request.node.iter_markers("allow_console"))]

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in expected):
            problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error.message}\n{error.stack or ''}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", animations="disabled")
        finally:
            context.close()
    assert not problems, "the page reported errors:\n" + "\n".join(problems)
