"""The portal in English (issue 18): switched on 登录, kept through a reload and a logout, refusals in English."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from shared.devstack.stack import FIXED_CAPTCHA
from tests.browser.portal import DEMO_PASSWORD, message, shot, sign_in
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.browser

ENGLISH_HINTS = [
    ("combobox", "Importing country/region", "Choose the importing country/region"),
    ("combobox", "Port of entry", "Choose a port of that country/region"),
    ("textbox", "Certificate of origin No.", "Enter a registered number of the chosen type"),
    ("textbox", "Export declaration No.", "Enter 18 digits (the 9th is 0)"),
    ("textbox", "Import declaration No.", "Enter 1 to 64 printable characters"),
    ("textbox", "Reason for application", "Enter 1 to 2000 characters"),
]


def test_english_from_login_to_a_refused_save_and_back_to_chinese(page: Page) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    switch = page.get_by_role("group", name="语言")
    switch.get_by_role("button", name="English").click()

    expect(page.get_by_role("heading", name="User Login")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en-US")
    expect(page.get_by_role("group", name="Language").get_by_role("button", name="English")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Verification code image; click for a new one")).to_be_visible()
    shot(page, "english-login")

    # A wrong password is told in English, though the server said it in Chinese.
    page.get_by_role("textbox", name="Username").fill("demo")
    page.get_by_role("textbox", name="Password").fill("Wrong@2026")
    page.get_by_role("textbox", name="Verification code").fill(FIXED_CAPTCHA)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Wrong username or password.")).to_be_visible()

    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("textbox", name="Verification code").fill(FIXED_CAPTCHA)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("tab", name="Business Applications")).to_be_visible()
    page.get_by_role("button", name="Coordination on Denied Preferential Treatment").click()

    menu = page.get_by_role("menubar", name="Functions")
    for item in ("Apply for Coordination", "Coordination Enquiry", "Export Declaration Linking"):
        expect(menu.get_by_role("menuitem", name=item)).to_be_visible()
    expect(page.get_by_role("heading", name="Choose the type of proof of origin")).to_be_visible()
    expect(page.get_by_role("tablist").get_by_role("tab", name="Apply for Coordination")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Certificate of Origin issued by Customs")).click()
    heading = "Certificate of Origin issued by Customs — Coordination Application"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(message(page, "Correct the fields marked in red and save the draft again")).to_be_visible()
    for role, field, hint in ENGLISH_HINTS:
        text = page.get_by_text(hint, exact=True)
        expect(text).to_be_visible()
        # Right of its own field, on the field's line, as in Chinese (the English labels fit their column).
        h = text.bounding_box()
        f = page.get_by_role(role, name=field, exact=True).bounding_box()
        assert h and f
        assert f["x"] + f["width"] <= h["x"] <= f["x"] + f["width"] + 60, (field, h, f)
        assert f["y"] <= h["y"] + h["height"] / 2 <= f["y"] + f["height"], (field, h, f)
        assert h["x"] + h["width"] <= 1280, (field, h)
    main = page.get_by_role("main")
    assert not re.search(r"[\u4e00-\u9fff]", main.inner_text().replace("上海华贸进出口有限公司", "")), main.inner_text()
    shot(page, "english-all-hints")

    # Element Plus's own texts follow: the date picker of 查询 in English.
    menu.get_by_role("menuitem", name="Coordination Enquiry").click()
    expect(page.get_by_role("tablist").get_by_role("tab", name="Coordination Enquiry")).to_be_visible()
    page.get_by_placeholder("Start date").click()
    expect(page.get_by_role("button", name="Previous Month").first).to_be_visible()
    expect(page.get_by_text("Sun", exact=True).first).to_be_visible()
    page.keyboard.press("Escape")

    # Kept through a reload and a logout.
    page.reload()
    expect(page.get_by_role("menubar", name="Functions")).to_be_visible()
    page.get_by_role("button", name="Log out", exact=True).click()
    dialog = page.get_by_role("dialog", name="Notice")
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_role("heading", name="User Login")).to_be_visible()

    # And back: the same switch in Chinese, everything Chinese again.
    page.get_by_role("group", name="Language").get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.reload()
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()


def test_the_header_switch_changes_an_open_page_at_once(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/apply/CUSTOMS_CO")
    expect(page.get_by_role("heading", name="海关原产地证书享惠受阻协调申请")).to_be_visible()
    page.get_by_role("group", name="语言").get_by_role("button", name="English").click()

    expect(
        page.get_by_role("heading", name="Certificate of Origin issued by Customs — Coordination Application")
    ).to_be_visible()
    expect(
        page.get_by_role("menubar", name="Functions").get_by_role("menuitem", name="Apply for Coordination")
    ).to_be_visible()
    expect(
        page.get_by_role("tablist").get_by_role("tab", name="Certificate of Origin issued by Customs")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Save draft", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible()


CJK = re.compile(r"[\u4e00-\u9fff]")


def in_english(page: Page) -> None:
    """The language chosen before the page loads, as a returning user has it."""
    page.add_init_script("localStorage.setItem('portal.language', 'en-US')")


@pytest.mark.parametrize(
    ("username", "path", "heading_or_label"),
    [
        ("demo", "/xh/apply", "Choose the type of proof of origin"),
        ("demo", "/xh/query", "Submitted between"),
        ("demo", "/xh/links", "Linked export declarations"),
        ("demo", "/xh/account/password", "Confirm new password"),
        ("officer", "/xh/customs", "Enterprise"),
        ("officer", "/xh/audit", "Client address"),
    ],
    ids=["apply", "query", "links", "password", "customs", "audit"],  # test ids name the screenshots: no "/"
)
def test_every_page_speaks_english(page: Page, username: str, path: str, heading_or_label: str) -> None:
    in_english(page)
    sign_in(page, username, "Officer@2026" if username == "officer" else DEMO_PASSWORD)
    page.goto(path)
    main = page.get_by_role("main")
    expect(main.get_by_text(heading_or_label, exact=True).first).to_be_visible()
    # The page's own words are English; only data (names, reasons typed in Chinese) may be Chinese.
    words = [
        *page.get_by_role("columnheader").all_inner_texts(),
        *main.get_by_role("button").all_inner_texts(),
        *page.get_by_role("menubar").all_inner_texts(),
        *page.get_by_role("tablist").all_inner_texts(),
        *(box.get_attribute("placeholder") or "" for box in main.get_by_role("textbox").all()),
    ]
    assert not [w for w in words if CJK.search(w)], words
    shot(page, f"english-{path.strip('/').replace('/', '-')}")


@pytest.fixture(scope="module")
def demo(stack) -> Iterator[httpx.Client]:
    client = login(stack.gateway_url)
    yield client
    client.close()


def test_a_refused_delete_a_withdrawal_and_the_detail_in_english(page: Page, demo: httpx.Client) -> None:
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit").status_code == 200
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    number = saved["requestNo"]

    in_english(page)
    sign_in(page)
    page.goto("/xh/query")
    page.get_by_role("textbox", name="Coordination No.").fill(number)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 in total", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row.get_by_role("cell", name="Pending")).to_be_visible()
    expect(row).to_contain_text("Certificate of Origin issued by Customs")

    # The server refuses in Chinese (当前状态不允许删除); the portal says it in English, by its code.
    row.get_by_role("cell", name="Select this row").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog", name="Notice").filter(has_text="Delete the 1 selected application(s)?").get_by_role(
        "button", name="OK"
    ).click()
    refusal = page.get_by_role("dialog", name="Notice").filter(has_text="cannot be deleted")
    expect(refusal).to_contain_text(f"{number}: The application cannot be deleted in its current status.")
    refusal.get_by_role("button", name="OK").click()
    expect(refusal).to_be_hidden()

    row.get_by_role("cell", name="Select this row").click()
    page.get_by_role("button", name="Withdraw", exact=True).click()
    page.get_by_role("dialog", name="Notice").filter(has_text=f"Withdraw coordination {number}?").get_by_role(
        "button", name="OK"
    ).click()
    expect(message(page, "Withdrawn")).to_be_visible()
    expect(row.get_by_role("cell", name="Withdrawn")).to_be_visible()

    row.get_by_role("button", name=number).click()
    main = page.get_by_role("main")
    expect(main.get_by_text(f"Coordination No.: {number}")).to_be_visible()
    expect(main.get_by_text(re.compile(r"^Status:\s*Withdrawn$"))).to_be_visible()
    expect(page.get_by_role("tablist").get_by_role("tab", name=f"Details {number}")).to_be_visible()
    history = main.get_by_role("list").filter(has_text="Created")
    for move, between in [
        ("Created", "Draft"),
        ("Submitted", "Draft → Declared"),
        ("Received by customs", "Declared → Pending"),
        ("Withdrawn", "Pending → Withdrawn"),
    ]:
        expect(history.get_by_role("listitem").filter(has_text=move).filter(has_text=between)).to_be_visible()
    shot(page, "english-detail")
