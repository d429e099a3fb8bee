"""登录, session expiry and 退出 as a person meets them (issue 8, walks 1, 12 and 13)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.portal import ENTERPRISE, api_client, confirm, log_in_on_screen, shot, sign_in, tabs

pytestmark = pytest.mark.browser


def captcha_image(page: Page):
    return page.get_by_role("button", name="验证码图片，点击刷新")


def assert_just_below(hint: Locator, field: Locator) -> None:
    """The hint stands right under its field, left-aligned with it (Element Plus's form-item error)."""
    h, f = hint.bounding_box(), field.bounding_box()
    assert h and f
    assert f["y"] + f["height"] <= h["y"] <= f["y"] + f["height"] + 30, (h, f)
    assert abs(h["x"] - f["x"]) < 20, (h, f)


def test_login_captcha_errors_in_place_then_portal_home(page: Page) -> None:
    with page.expect_response("**/api/v1/auth/captcha") as first:
        page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?redirect=/$"))
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    image = captcha_image(page)
    # The picture is the one the API sent, and a click fetches another.
    expect(image).to_have_attribute("src", first.value.json()["image"])
    before = image.get_attribute("src")
    with page.expect_response("**/api/v1/auth/captcha") as refreshed:
        image.click()
    expect(image).to_have_attribute("src", refreshed.value.json()["image"])
    assert image.get_attribute("src") != before

    # A wrong code: the message stands under the captcha field, and a new picture replaces the spent one.
    before = image.get_attribute("src")
    log_in_on_screen(page, captcha="1111")  # never a real code: the alphabet has no 1
    hint = page.get_by_text("验证码错误或已过期，请重新输入")
    expect(hint).to_be_visible()
    assert_just_below(hint, page.get_by_role("textbox", name="验证码"))
    expect(image).not_to_have_attribute("src", before)
    expect(page.get_by_role("textbox", name="验证码")).to_have_value("")
    expect(page.get_by_role("textbox", name="验证码")).to_be_focused()
    shot(page, "login-wrong-captcha")

    log_in_on_screen(page, password="Wrong@2026")
    expect(page.get_by_role("alert").filter(has_text="用户名或密码错误")).to_be_visible()
    expect(hint).to_be_hidden()
    expect(page.get_by_role("textbox", name="密码")).to_have_value("")  # to be typed again

    log_in_on_screen(page)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("tab", name="门户首页")).to_be_visible()
    expect(page.get_by_role("tab", name="业务应用")).to_be_visible()
    header = page.get_by_role("banner")
    expect(header.get_by_text("张敏")).to_be_visible()
    expect(header.get_by_text(ENTERPRISE)).to_be_visible()
    expect(header.get_by_role("button", name="退出")).to_be_visible()


def test_expired_session_returns_to_login_and_then_to_the_page(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/query")
    expect(page.get_by_role("button", name="查询", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^共 \d+ 条$"))).to_be_visible()

    # The server ends the session (as the idle timeout would); the browser still holds its cookie.
    with api_client(page) as same_session:
        assert same_session.post("/api/v1/auth/logout").status_code == 200
    page.get_by_role("button", name="查询", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login\?"))
    expect(page.get_by_role("alert").filter(has_text="登录已超时，请重新登录")).to_be_visible()
    shot(page, "session-expired")
    log_in_on_screen(page)
    expect(page).to_have_url(re.compile(r"/xh/query$"))
    expect(tabs(page).and_(page.get_by_role("tab", selected=True))).to_have_text("享惠受阻协调查询")
    expect(page.get_by_text(re.compile(r"^共 \d+ 条$"))).to_be_visible()


def test_logout_asks_then_returns_to_login_and_pages_need_login_again(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/query")
    expect(page.get_by_role("button", name="查询", exact=True)).to_be_visible()
    page.get_by_role("button", name="退出").click()
    confirm(page, "确定退出系统吗？")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()

    page.goto("/xh/query")
    expect(page).to_have_url(re.compile(r"/login\?redirect=/xh/query$"))
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    expect(page.get_by_role("textbox", name="用户名")).to_be_visible()


def test_what_was_typed_survives_an_expired_session(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/apply/CUSTOMS_CO")
    reason = page.get_by_role("textbox", name="申请事由")
    reason.fill("会话过期前填写、尚未暂存的申请事由")
    page.get_by_role("textbox", name="进口报关单号").fill("JP-IMP-UNSAVED")

    with api_client(page) as same_session:
        assert same_session.post("/api/v1/auth/logout").status_code == 200
    page.get_by_role("button", name="暂存", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login\?"))
    expect(page.get_by_role("alert").filter(has_text="登录已超时，请重新登录")).to_be_visible()
    log_in_on_screen(page)
    expect(page).to_have_url(re.compile(r"/xh/apply/CUSTOMS_CO$"))
    expect(page.get_by_role("textbox", name="申请事由")).to_have_value("会话过期前填写、尚未暂存的申请事由")
    expect(page.get_by_role("textbox", name="进口报关单号")).to_have_value("JP-IMP-UNSAVED")


@pytest.mark.parametrize("path", ["/login", "/"])
def test_a_fresh_visit_to_login_logs_nothing_in_the_console(page: Page, path: str) -> None:
    """Issue 18: every visit to 登录 logged a 401 (the portal asked /api/v1/me of nobody). Not even an expected
    4xx is allowed here: the console stays empty."""
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
    with page.expect_response("**/api/v1/auth/captcha"):
        page.goto(path)
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    expect(captcha_image(page)).to_have_attribute("src", re.compile(r"^data:image/png"))
    page.wait_for_load_state("networkidle")
    assert logged == []
