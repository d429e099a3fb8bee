"""享惠受阻协调查询: filters, the detail of a 待办 application, 撤回 and 删除 (issue 8, walks 9 and 10).

The applications are made through the API (the form has its own tests); what is checked is what the page shows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.portal import assert_not_clipped, confirm, message, shot, sign_in, tabs
from tests.support import PDF, create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.browser
BASE = "/api/v1/coordination-requests"


@pytest.fixture(scope="module")
def demo(stack) -> Iterator[httpx.Client]:
    client = login(stack.gateway_url)
    yield client
    client.close()


def submitted(demo: httpx.Client) -> dict:
    """A fresh application, linked, with its attachment, submitted (not waited for: the receipt is asynchronous)."""
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"{BASE}/{saved['id']}/submit").status_code == 200
    return saved


def query(page: Page) -> dict:
    """Clicks 查询 and returns the answer the page got."""
    with page.expect_response(lambda r: r.url.split("?")[0].endswith(BASE) and r.request.method == "GET") as answer:
        page.get_by_role("button", name="查询", exact=True).click()
    return answer.value.json()


def total(page: Page):
    return page.get_by_text(re.compile(r"^共 \d+ 条$"))


def choose_status(page: Page, label: str) -> None:
    # Its input lies under the shown placeholder (which takes the click), so it is opened from the keyboard.
    page.get_by_role("combobox", name="处理状态").press("Enter")
    page.get_by_role("listbox").get_by_role("option", name=label, exact=True).click()
    expect(page.get_by_role("listbox")).to_be_hidden()


def select(row: Locator) -> None:
    """Ticks the row's checkbox. Element Plus hides the real input (no size), so the click goes to its cell."""
    box = row.get_by_role("checkbox", name="选择当前行")
    expect(box).not_to_be_checked()  # each refresh of the list clears the selection
    row.get_by_role("cell", name="选择当前行").click()
    expect(box).to_be_checked()


def test_query_filters_and_a_pending_application_opens_read_only(page: Page, demo: httpx.Client) -> None:
    saved = submitted(demo)
    sign_in(page)
    page.goto("/xh/query")
    expect(total(page)).to_be_visible()
    page.get_by_role("textbox", name="出口报关单编号").fill(saved["exportDeclarationNo"])
    choose_status(page, "待办")
    # 已申报 becomes 待办 when customs-desk's receipt arrives: query again until the row shows up.
    deadline = time.monotonic() + 15
    while query(page)["total"] != 1:
        assert time.monotonic() < deadline, "the application never showed up as 待办"
    expect(total(page)).to_have_text("共 1 条")
    row = page.get_by_role("row").filter(has_text=saved["requestNo"])
    expect(row.get_by_role("cell", name="待办", exact=True)).to_be_visible()  # the status tag, in Chinese
    expect(row).to_contain_text("海关原产地证书")
    expect(row).to_contain_text("K2631000000001")

    page.get_by_role("button", name="重置").click()
    page.get_by_role("textbox", name="协调单号").fill(saved["requestNo"])
    query(page)
    expect(total(page)).to_have_text("共 1 条")
    expect(page.get_by_role("row").filter(has_text=saved["exportDeclarationNo"])).to_contain_text("待办")
    shot(page, "query-pending")

    page.get_by_role("button", name=saved["requestNo"]).click()
    expect(page.get_by_role("tab", name=f"详情 {saved['requestNo']}", selected=True)).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("alert")).to_have_text("当前状态的申请不可修改，仅可查看")
    expect(main.get_by_text("状态：")).to_have_text(re.compile(r"^状态：\s*待办$"))
    expect(main.get_by_role("button", name="暂存", exact=True)).to_have_count(0)
    expect(main.get_by_role("button", name="提交", exact=True)).to_have_count(0)
    for field in ("进口国家/地区", "进口国家/地区口岸"):
        expect(main.get_by_role("combobox", name=field, exact=True)).to_be_disabled()
    for field in ("原产地证书号", "出口报关单号", "进口报关单号", "申请事由"):
        expect(main.get_by_role("textbox", name=field)).to_be_disabled()
    expect(main.get_by_role("textbox", name="出口报关单号")).to_have_value(saved["exportDeclarationNo"])
    attachments = main.get_by_role("region", name="附件")
    expect(attachments.get_by_role("button", name=re.compile("上传"))).to_have_count(0)
    expect(attachments.get_by_role("button", name="删除")).to_have_count(0)
    with page.expect_download() as download:
        attachments.get_by_role("row").filter(has_text="证明材料.pdf").get_by_role("link", name="下载").click()
    assert Path(download.value.path()).read_bytes() == PDF


def test_withdraw_only_pending_refused_delete_then_delete_withdrawn(page: Page, demo: httpx.Client) -> None:
    saved = submitted(demo)
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    request_no = saved["requestNo"]
    sign_in(page)
    page.goto("/xh/query")
    page.get_by_role("textbox", name="协调单号").fill(request_no)
    query(page)
    expect(total(page)).to_have_text("共 1 条")
    row = page.get_by_role("row").filter(has_text=request_no)
    expect(row).to_contain_text("待办")
    withdraw = page.get_by_role("button", name="撤回", exact=True)
    delete = page.get_by_role("button", name="删除", exact=True)
    expect(withdraw).to_be_disabled()  # nothing selected
    expect(delete).to_be_disabled()

    select(row)
    expect(withdraw).to_be_enabled()

    delete.click()
    confirm(page, "确定删除选中的 1 条申请吗？")
    refusal = page.get_by_role("dialog", name="提示").filter(has_text="当前状态不允许删除")
    expect(refusal).to_contain_text(f"{request_no}：当前状态不允许删除")
    refusal.get_by_role("button", name="确定").click()
    expect(refusal).to_be_hidden()
    expect(total(page)).to_have_text("共 1 条")
    expect(row).to_contain_text("待办")

    select(row)
    expect(withdraw).to_be_enabled()
    withdraw.click()
    confirm(page, f"确定撤回协调单 {request_no} 吗？")
    expect(message(page, "撤回成功")).to_be_visible()
    expect(row.get_by_role("cell", name="已撤回")).to_be_visible()
    select(row)
    expect(withdraw).to_be_disabled()  # only a 待办 application can be withdrawn
    shot(page, "query-withdrawn")

    delete.click()
    confirm(page, "确定删除选中的 1 条申请吗？")
    expect(message(page, "删除成功")).to_be_visible()
    expect(total(page)).to_have_text("共 0 条")
    expect(row).to_have_count(0)
    expect(page.get_by_text("暂无数据")).to_be_visible()
    assert demo.get(f"{BASE}/{saved['id']}").status_code == 404


def test_the_detail_shows_the_application_as_it_is_now_after_a_withdraw(page: Page, demo: httpx.Client) -> None:
    """Issue 18: a detail tab opened before 撤回 showed 待办 and no 撤回 when opened again from 查询."""
    saved = submitted(demo)
    wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")
    request_no = saved["requestNo"]
    sign_in(page)
    page.goto("/xh/query")
    page.get_by_role("textbox", name="协调单号").fill(request_no)
    query(page)
    row = page.get_by_role("row").filter(has_text=request_no)
    row.get_by_role("button", name=request_no).click()
    main = page.get_by_role("main")
    expect(main.get_by_text("状态：")).to_have_text(re.compile(r"^状态：\s*待办$"))

    tabs(page).filter(has_text="享惠受阻协调查询").click()
    select(row)
    page.get_by_role("button", name="撤回", exact=True).click()
    confirm(page, f"确定撤回协调单 {request_no} 吗？")
    expect(message(page, "撤回成功")).to_be_visible()
    expect(row.get_by_role("cell", name="已撤回")).to_be_visible()

    row.get_by_role("button", name=request_no).click()
    expect(page.get_by_role("tab", name=f"详情 {request_no}", selected=True)).to_be_visible()
    expect(main.get_by_text("状态：")).to_have_text(re.compile(r"^状态：\s*已撤回$"))
    expect(main.get_by_text("当前状态的申请不可修改，仅可查看")).to_have_count(0)
    expect(main.get_by_role("button", name="暂存", exact=True)).to_be_visible()
    expect(main.get_by_role("textbox", name="进口报关单号")).to_be_enabled()
    expect(main.get_by_text("该申请已更新", exact=False)).to_be_visible()
    expect(main.get_by_role("listitem").get_by_text("撤回", exact=True)).to_be_visible()  # in the history
    shot(page, "detail-after-withdraw")


def test_query_table_shows_every_cell_whole_at_1280x720(page: Page, demo: httpx.Client) -> None:
    """Issue 18: at 1280×720 the 海关接收失败 tag and the 协调单号 were cut off."""
    body = form()
    link(demo, body)
    first = create(demo, body)
    assert upload(demo, first["id"]).status_code == 201
    assert demo.post(f"{BASE}/{first['id']}/submit").status_code == 200
    wait_until(status_of(demo, first["id"]), lambda r: r["status"] == "PENDING")
    # The same certificate and declaration again while the first is open: customs refuses its receipt.
    second = create(demo, body)
    assert upload(demo, second["id"]).status_code == 201
    assert demo.post(f"{BASE}/{second['id']}/submit").status_code == 200
    wait_until(status_of(demo, second["id"]), lambda r: r["status"] == "RECEIPT_FAILED")

    sign_in(page)
    page.goto("/xh/query")
    assert page.viewport_size == {"width": 1280, "height": 720}
    page.get_by_role("textbox", name="出口报关单编号").fill(body["exportDeclarationNo"])
    query(page)
    expect(total(page)).to_have_text("共 2 条")
    failed = page.get_by_role("row").filter(has_text=second["requestNo"])
    expect(failed.get_by_role("cell", name="海关接收失败")).to_be_visible()
    for row, number in (
        (failed, second["requestNo"]),
        (page.get_by_role("row").filter(has_text=first["requestNo"]), first["requestNo"]),
    ):
        assert_not_clipped(row.get_by_role("cell").all())
        expect(row.get_by_role("button", name=number)).to_be_visible()
    assert_not_clipped(page.get_by_role("columnheader").all())
    shot(page, "query-1280")
