"""What a person does in the portal, as small steps the browser tests share."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import FilePayload, Locator, Page, expect

from shared.devstack.stack import FIXED_CAPTCHA
from tests.support import PDF

# Debian's Chromium, never a downloaded browser; headless flags that keep it off the network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
DEMO_PASSWORD = "Demo@2026"
ENTERPRISE = "上海华贸进出口有限公司"
CREDIT_CODE = "91310115MA1K4B2X0T"


def shot(page: Page, name: str) -> None:
    """A screenshot of a moment worth looking at, beside the one every test leaves at its end."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


def sign_in(page: Page, username: str = "demo", password: str = DEMO_PASSWORD) -> None:
    """Logs the page's browser context in through the API (fast); the login screen has its own test."""
    captcha = page.request.get("/api/v1/auth/captcha").json()
    response = page.request.post(
        "/api/v1/auth/login",
        data={
            "username": username,
            "password": password,
            "captchaId": captcha["captchaId"],
            "captchaCode": FIXED_CAPTCHA,
        },
    )
    assert response.ok, response.text()


def log_in_on_screen(
    page: Page, username: str = "demo", password: str = DEMO_PASSWORD, captcha: str = FIXED_CAPTCHA
) -> None:
    page.get_by_role("textbox", name="用户名").fill(username)
    page.get_by_role("textbox", name="密码").fill(password)
    page.get_by_role("textbox", name="验证码").fill(captcha)
    page.get_by_role("button", name="登录", exact=True).click()


def api_client(page: Page) -> httpx.Client:
    """An HTTP client with the page's session cookie: the same session, seen from outside the browser."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    base_url = re.match(r"https?://[^/]+", page.url or "")
    assert base_url, "open a page of the portal first"
    return httpx.Client(base_url=base_url.group(0), cookies=cookies, timeout=30)


def menu(page: Page) -> Locator:
    return page.get_by_role("menubar", name="功能菜单")


def tabs(page: Page) -> Locator:
    """The open pages' tabs (the system's tab bar, its only tablist)."""
    return page.get_by_role("tablist").get_by_role("tab")


def confirm(page: Page, question: str) -> None:
    """Answers 确定 to the 提示 dialog (Element Plus MessageBox) that asks `question`."""
    dialog = page.get_by_role("dialog", name="提示").filter(has_text=question)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()


def message(page: Page, text: str) -> Locator:
    """A toast (Element Plus ElMessage) with this text."""
    return page.get_by_role("alert").filter(has_text=text)


def choose(page: Page, field: str, query: str, option: str) -> None:
    """Types a search into a country/port dropdown and clicks the option."""
    box = page.get_by_role("combobox", name=field, exact=True)
    box.click()
    box.press_sequentially(query)
    page.get_by_role("listbox", name=field).get_by_role("option", name=option).click()
    expect(page.get_by_role("listbox", name=field)).to_be_hidden()


def fill_application(page: Page, body: dict[str, Any]) -> None:
    """Fills a new application's form with the mouse and typing (the keyboard-only walk is its own test)."""
    country, port = body["country"], body["port"]
    choose(page, "进口国家/地区", country[0], country[1])
    choose(page, "进口国家/地区口岸", port[0], port[1])
    page.get_by_role("textbox", name="原产地证书号").fill(body["certificateNo"])
    page.get_by_role("textbox", name="出口报关单号").fill(body["exportDeclarationNo"])
    page.get_by_role("textbox", name="进口报关单号").fill(body["importDeclarationNo"])
    page.get_by_role("textbox", name="申请事由").fill(body["reason"])


def save(page: Page) -> str:
    """暂存 a form; returns the 协调单号 it shows once saved."""
    page.get_by_role("button", name="暂存", exact=True).click()
    expect(message(page, "暂存成功")).to_be_visible()
    number = page.get_by_role("main").get_by_text(re.compile(r"^XT\d{14}$"))
    expect(number).to_be_visible()
    return number.inner_text()


def choose_file(page: Page, name: str = "证明材料.pdf", content: bytes = PDF, mime: str = "application/pdf") -> None:
    """Clicks the upload area and picks a file in the file chooser, as a person does."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("region", name="附件").get_by_role(
            "button", name=re.compile("点击或将文件拖到此处上传")
        ).click()
    chooser.value.set_files(FilePayload(name=name, mimeType=mime, buffer=content))


def upload(page: Page, name: str = "证明材料.pdf", content: bytes = PDF) -> None:
    choose_file(page, name, content)
    attachments = page.get_by_role("region", name="附件")
    attachments.get_by_role("button", name="上传", exact=True).click()
    expect(message(page, "上传成功")).to_be_visible()
    expect(attachments.get_by_role("row").filter(has_text=name)).to_be_visible()


def submit(page: Page) -> None:
    page.get_by_role("button", name="提交", exact=True).click()
    confirm(page, "确认提交该享惠受阻协调申请吗？")


def focused_name(page: Page) -> str:
    """The accessible name (aria-label or text) of what has the keyboard focus."""
    return page.evaluate(
        "() => { const e = document.activeElement; return (e?.getAttribute('aria-label') || e?.textContent || '').trim() }"
    )


def tab_to(page: Page, name: str, key: str = "Tab", limit: int = 30) -> None:
    """Presses Tab (or Shift+Tab) until the element named `name` has the focus."""
    for _ in range(limit):
        if focused_name(page) == name:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {name!r}; focus is on {focused_name(page)!r}")


def clipped(cell: Locator) -> str:
    """What of a table cell's content is cut off ('' when nothing): content overflowing the cell's box (text cut
    with an ellipsis or hidden), or the cell lying outside the table's visible area (behind a horizontal scroll)."""
    problem = cell.evaluate(
        """td => {
            const inner = td.firstElementChild || td
            const box = td.getBoundingClientRect()
            const view = td.closest('.el-table').getBoundingClientRect()
            if (inner.scrollWidth > inner.clientWidth) return `content ${inner.scrollWidth}px wide in ${inner.clientWidth}px`
            for (const e of inner.querySelectorAll('*')) {
                const r = e.getBoundingClientRect()
                if (r.width && (r.left < box.left - 0.5 || r.right > box.right + 0.5))
                    return `${e.tagName} ${r.left}..${r.right} outside the cell ${box.left}..${box.right}`
            }
            if (box.left < view.left - 0.5 || box.right > view.right + 0.5)
                return `cell ${box.left}..${box.right} outside the table ${view.left}..${view.right}`
            return ''
        }"""
    )
    return f"{cell.inner_text()!r}: {problem}" if problem else ""


def assert_not_clipped(cells: list[Locator]) -> None:
    """Every one of these table cells shows all of its content."""
    problems = [p for p in map(clipped, cells) if p]
    assert not problems, "cut off:\n" + "\n".join(problems)
