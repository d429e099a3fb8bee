"""海关处理 (SPEC §6): an officer's menu, the queue, a case's detail, 受理 and 办结; each role kept to its own pages.

The application is made and submitted through the API as demo; what is checked is what the officer's pages show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.portal import assert_not_clipped, confirm, menu, message, shot, sign_in
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.browser
BASE = "/api/v1/coordination-requests"
ENTERPRISE_MENU = ["享惠受阻协调申请", "享惠受阻协调查询", "出口报关单补录"]
OFFICER_MENU = ["海关处理", "审计记录"]


@pytest.fixture(scope="module")
def demo(stack) -> Iterator[httpx.Client]:
    client = login(stack.gateway_url)
    yield client
    client.close()


def pending(demo: httpx.Client) -> dict:
    """A fresh application, linked, with its attachment, submitted and received by customs (待办)."""
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
    return wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")


def case_status(page: Page):
    return page.get_by_test_id("case-status")


def test_officer_accepts_and_concludes_a_case_from_the_queue(page: Page, demo: httpx.Client) -> None:
    application = pending(demo)
    number = application["requestNo"]
    sign_in(page, "officer", "Officer@2026")
    page.goto("/")
    page.get_by_role("tab", name="业务应用").click()
    page.get_by_role("button", name="享惠受阻协调").click()

    expect(page).to_have_url(re.compile(r"/xh/customs$"))
    expect(menu(page).get_by_role("menuitem")).to_have_text(OFFICER_MENU)
    page.goto("/xh/apply")  # an enterprise page is not an officer's
    expect(page).to_have_url(re.compile(r"/xh/customs$"))

    page.get_by_role("textbox", name="协调单号").fill(number)
    page.get_by_role("button", name="查询", exact=True).click()
    rows = page.get_by_role("main").locator(".el-table__body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("上海华贸进出口有限公司")
    expect(rows.first).to_contain_text("待办")
    assert_not_clipped(rows.first.get_by_role("cell").all())  # at 1280×720 (issue 18)
    assert_not_clipped(page.get_by_role("main").get_by_role("columnheader").all())
    rows.first.get_by_role("button", name=number).click()

    expect(page).to_have_url(re.compile(rf"/xh/customs/{application['id']}$"))
    expect(page.get_by_role("tab", name=f"详情 {number}", selected=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="下载").first).to_be_visible()
    expect(page.get_by_role("main").get_by_text("提交", exact=True).first).to_be_visible()  # the history names the move
    expect(page.get_by_role("button", name="办结", exact=True)).to_be_disabled()
    accept = page.get_by_role("button", name="受理", exact=True)
    expect(accept).to_be_enabled()
    accept.click()
    confirm(page, f"确定受理协调单 {number} 吗？")
    expect(message(page, "受理成功")).to_be_visible()
    expect(case_status(page)).to_have_text(re.compile(r"协调中"))

    conclude = page.get_by_role("button", name="办结", exact=True)
    expect(conclude).to_be_enabled()  # once coordination-request has confirmed the acceptance
    conclude.click()
    dialog = page.get_by_role("dialog", name="办结协调单")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.get_by_text("请选择办结结果")).to_be_visible()
    dialog.get_by_text("协调成功", exact=True).click()
    dialog.get_by_role("textbox", name="海关回复").fill("已与日本海关沟通，同意给予RCEP协定税率。")
    dialog.get_by_role("button", name="确定").click()
    expect(message(page, "办结成功")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(case_status(page)).to_have_text(re.compile(r"已办结"))
    expect(page.get_by_role("button", name="受理", exact=True)).to_be_disabled()
    shot(page, "customs-case")
    concluded = wait_until(status_of(demo, application["id"]), lambda r: r["status"] == "CONCLUDED")
    assert concluded["outcome"] == "SUCCESS"


def test_enterprise_user_keeps_its_three_items_and_no_customs_page(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/customs")
    expect(page).to_have_url(re.compile(r"/xh/apply$"))
    expect(menu(page).get_by_role("menuitem")).to_have_text(ENTERPRISE_MENU)


def test_a_case_names_the_country_and_port_as_the_form_does_and_its_creation(page: Page, demo: httpx.Client) -> None:
    """Issue 18: the case showed JP and JPTYO where the clerk's form shows 日本（Japan）JP; the first history entry
    read 暂存 → 暂存."""
    application = pending(demo)
    sign_in(page, "officer", "Officer@2026")
    page.goto(f"/xh/customs/{application['id']}")
    main = page.get_by_role("main")
    expect(main.get_by_role("cell", name="日本（Japan）JP", exact=True)).to_be_visible()
    expect(main.get_by_role("cell", name=re.compile(r"^东京（Tokyo）JPTYO$"))).to_be_visible()
    expect(main.get_by_text("新建", exact=True)).to_be_visible()
    expect(main.get_by_text(re.compile(r"暂存\s*→\s*暂存"))).to_have_count(0)


def test_the_audit_trail_in_chinese_whole_at_1280x720_and_paged(page: Page, demo: httpx.Client) -> None:
    """Issue 18: 审计记录 showed raw codes, cut off 客户端地址 and had no paging."""
    application = pending(demo)
    files = demo.get(f"{BASE}/{application['id']}/attachments").json()["items"]
    for _ in range(21):  # each download is recorded: more than one page of 20
        assert demo.get(f"{BASE}/{application['id']}/attachments/{files[0]['id']}").status_code == 200
    sign_in(page, "officer", "Officer@2026")
    page.goto("/xh/audit")
    main = page.get_by_role("main")
    rows = main.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows.first).to_be_visible()
    expect(main.get_by_role("cell", name="成功", exact=True).first).to_be_visible()
    for code in ("SUCCESS", "coordination_request", "REQUEST_SUBMIT", "LOGIN"):
        expect(main.get_by_role("cell", name=code, exact=True)).to_have_count(0)
    assert_not_clipped(main.get_by_role("columnheader").all())
    assert_not_clipped(rows.first.get_by_role("cell").all())
    expect(main.get_by_role("columnheader", name="客户端地址")).to_be_visible()

    first_page = [r.text_content() or "" for r in rows.all()]
    next_page = main.get_by_role("button", name="下一页")
    expect(next_page).to_be_enabled()
    next_page.click()
    expect(main.get_by_text(re.compile(r"第 2 页"))).to_be_visible()
    expect(rows.first).not_to_have_text(first_page[0])
    second_page = [r.text_content() or "" for r in rows.all()]
    assert second_page and second_page != first_page
    # Newest first across the pages: the next page starts no later than where the first one ended.
    assert second_page[0][:19] <= first_page[-1][:19], (first_page[-1], second_page[0])
    main.get_by_role("button", name="上一页").click()
    expect(rows.first).to_have_text(first_page[0])
    shot(page, "audit-1280")
