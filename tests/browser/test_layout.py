"""门户首页 into the system, the four proof types' forms, and the frame: menu, tabs (issue 8, walks 2, 3 and 11)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.portal import CREDIT_CODE, ENTERPRISE, menu, shot, sign_in, tabs

pytestmark = pytest.mark.browser

MENU_ITEMS = ["享惠受阻协调申请", "享惠受阻协调查询", "出口报关单补录"]
PROOF_TYPES = [
    ("海关原产地证书", "原产地证书号"),
    ("经核准出口商原产地声明", "原产地声明号"),
    ("基于海关行政裁定或预裁定的原产地声明", "原产地声明号"),
    ("贸促会原产地证书", "原产地证书号"),
]


def open_form(page: Page, proof_type: str) -> None:
    menu(page).get_by_role("menuitem", name="享惠受阻协调申请").click()
    page.get_by_role("button", name=f"{proof_type} 享惠受阻协调申请").click()
    expect(page.get_by_role("heading", name=f"{proof_type}享惠受阻协调申请")).to_be_visible()


def test_portal_home_opens_the_system_with_its_menu(page: Page) -> None:
    sign_in(page)
    page.goto("/")
    expect(page.get_by_role("tab", name="门户首页")).to_be_visible()
    page.get_by_role("tab", name="业务应用").click()
    page.get_by_role("button", name="口岸执法申报").click()
    page.get_by_role("button", name="享惠受阻协调").click()

    expect(page).to_have_url(re.compile(r"/xh/apply$"))
    for item in MENU_ITEMS:
        expect(menu(page).get_by_role("menuitem", name=item)).to_be_visible()
    expect(page.get_by_role("heading", name="请选择享惠证明类型")).to_be_visible()
    expect(tabs(page)).to_have_text(["享惠受阻协调申请"])


def test_each_proof_type_opens_its_form_with_the_enterprise_from_the_login(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/apply")
    for proof_type, number_label in PROOF_TYPES:
        open_form(page, proof_type)
        expect(page.get_by_role("tab", name=proof_type, selected=True)).to_be_visible()
        expect(page.get_by_role("textbox", name=number_label, exact=True)).to_be_visible()
        other = "原产地声明号" if number_label == "原产地证书号" else "原产地证书号"
        expect(page.get_by_role("textbox", name=other, exact=True)).to_have_count(0)
        name = page.get_by_role("textbox", name="企业中文名称")
        code = page.get_by_role("textbox", name="社会信用代码")
        expect(name).to_have_value(ENTERPRISE)
        expect(name).to_be_disabled()
        expect(code).to_have_value(CREDIT_CODE)
        expect(code).to_be_disabled()
    shot(page, "form-ccpit")
    expect(tabs(page)).to_have_text(["享惠受阻协调申请", *(p for p, _ in PROOF_TYPES)])


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found, f"{locator} has no box"
    return found


def wait_for_width(page: Page, locator: Locator, condition: str) -> None:
    """Waits until the element's width satisfies `condition` (a JS expression of w); the width animates."""
    page.wait_for_function(
        f"el => {{ const w = el.getBoundingClientRect().width; return {condition} }}", arg=locator.element_handle()
    )


def test_menu_folds_tabs_scroll_close_and_an_open_page_is_focused(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/apply")
    aside = page.get_by_role("complementary")
    labels = menu(page).get_by_text("享惠受阻协调查询")
    expect(labels).to_be_visible()
    wide = box(aside)["width"]

    page.get_by_role("button", name="折叠菜单").click()
    expect(labels).to_be_hidden()
    expect(page.get_by_role("button", name="展开菜单")).to_be_visible()
    wait_for_width(page, aside, f"w < {wide / 2}")
    for item in MENU_ITEMS:  # icons only now, still named
        expect(menu(page).get_by_role("menuitem", name=item)).to_be_visible()
    shot(page, "menu-folded")
    page.get_by_role("button", name="展开菜单").click()
    expect(labels).to_be_visible()
    wait_for_width(page, aside, f"w === {wide}")

    for proof_type, _ in PROOF_TYPES:
        open_form(page, proof_type)
    menu(page).get_by_role("menuitem", name="享惠受阻协调查询").click()
    menu(page).get_by_role("menuitem", name="出口报关单补录").click()
    expect(tabs(page)).to_have_count(7)

    # Too many tabs for the bar: Element Plus shows its prev/next arrows, which have no role or name, so they
    # are found by class. The newest tab is scrolled into view; the first one is pushed out on the left.
    prev_arrow, next_arrow = page.locator(".el-tabs__nav-prev"), page.locator(".el-tabs__nav-next")
    expect(prev_arrow).to_be_visible()
    expect(next_arrow).to_be_visible()
    first = page.get_by_role("tab", name="享惠受阻协调申请")
    expect(first).not_to_be_in_viewport()  # clipped by the bar (the observer counts overflow clipping)
    shot(page, "tabs-overflow")
    prev_arrow.click()
    expect(first).to_be_in_viewport(ratio=1)

    # A page already open is focused, not opened a second time.
    menu(page).get_by_role("menuitem", name="享惠受阻协调查询").click()
    expect(page.get_by_role("tab", name="享惠受阻协调查询", selected=True)).to_be_visible()
    open_form(page, "海关原产地证书")
    expect(page.get_by_role("tab", name="海关原产地证书", selected=True)).to_be_visible()
    expect(tabs(page)).to_have_count(7)

    page.get_by_role("button", name="选项卡操作").click()
    page.get_by_role("menu", name="选项卡操作").get_by_role("menuitem", name="关闭其他选项卡").click()
    expect(tabs(page)).to_have_text(["海关原产地证书"])
    expect(page.get_by_role("tab", name="海关原产地证书", selected=True)).to_be_visible()
    expect(page.get_by_role("heading", name="海关原产地证书享惠受阻协调申请")).to_be_visible()

    page.get_by_role("button", name="选项卡操作").click()
    page.get_by_role("menu", name="选项卡操作").get_by_role("menuitem", name="关闭全部选项卡").click()
    expect(tabs(page)).to_have_count(0)
    expect(page.get_by_text("请从左侧菜单选择功能")).to_be_visible()
    expect(page.get_by_role("heading", name="海关原产地证书享惠受阻协调申请")).to_have_count(0)
