"""长辈版 (issue 18, item 2; MIIT 适老化): large text and high contrast, switched in the header and on 登录.

The text grows to 1.5× and is remembered: per user, and on the device for 登录. A user who never chose starts from
the device's choice (what 登录 showed), so logging in never changes the look; another user's choice is never
inherited. On each main screen at 1280×720 nothing is cut or overlaps: every visible control lies inside the
viewport (or inside something that scrolls), its text fits in its box, and the controls of the header, the tabs
bar, the forms and the dialogs do not intersect; and every visible text stands at 7:1 or more against its background.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.portal import confirm, log_in_on_screen, menu, shot, sign_in
from tests.support import create, form, link, login, status_of, upload, wait_until

pytestmark = pytest.mark.browser

SENIOR = "senior-mode"
# What a person reads and operates: buttons, form labels, fields, table headers, tags, menu items, tab labels.
CONTROLS = [
    "button",
    ".el-button",
    ".el-form-item__label",
    ".el-input__wrapper",
    ".el-select__wrapper",
    ".el-textarea__inner",
    ".el-date-editor",
    ".el-form-item__error",
    "th .cell",
    ".el-tag",
    ".el-menu-item",
    ".el-tabs__item",
    ".el-dialog__title",
    ".el-message-box__title",
    ".el-message-box__message",
    ".el-descriptions__label",
    ".el-select-dropdown__item",
    ".el-date-table-cell__text",
    ".el-date-range-picker__header div",
]
# Of those, the ones whose text must fit in their box (fields scroll their own text by design).
TEXT_BEARING = [
    "button",
    ".el-button",
    ".el-form-item__label",
    ".el-form-item__error",
    "th .cell",
    ".el-tag",
    ".el-menu-item",
    ".el-tabs__item",
    ".el-dialog__title",
    ".el-message-box__title",
    ".el-descriptions__label",
    ".el-select-dropdown__item",
    ".el-date-table-cell__text",
]
# Groups of controls laid out side by side, none of which may intersect another of its group.
SIDE_BY_SIDE = [
    ".header .fold, .header .portal-link, .user-bar > *",
    ".tabs-bar .el-tabs__item, .tabs-bar .tabs-menu, .tabs-bar .el-tabs__nav-prev, .tabs-bar .el-tabs__nav-next",
    ".login-header > *",
    ".form-head h2, .form-head .meta > *, .form-head .actions .el-button",
    ".form-grid .el-form-item__label, .form-grid .el-form-item__content > *",
    ".filters .el-form-item__label, .filters .el-form-item__content > *, .filters .el-button",
    ".toolbar .el-button",
    ".case-head > *",
    ".el-dialog .el-form-item__label, .el-dialog .el-form-item__content > *, .el-dialog__footer .el-button, "
    ".el-dialog__title, .el-dialog__headerbtn",
    ".el-message-box__title, .el-message-box__headerbtn, .el-message-box__message, .el-message-box__btns .el-button",
]

LAYOUT_PROBLEMS = """
({controls, textBearing, groups}) => {
  const vw = document.documentElement.clientWidth
  const problems = []
  const shown = (el) => {
    const r = el.getBoundingClientRect()
    const s = getComputedStyle(el)
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && !el.closest('[aria-hidden="true"]')
  }
  const scrolls = (p) => {
    const s = getComputedStyle(p)
    // Element Plus's tabs scroll with arrows and a table's header scrolls with its body.
    return /auto|scroll/.test(s.overflowX) || p.matches('.is-scrollable > .el-tabs__nav-scroll, .el-table__header-wrapper')
  }
  // What can be seen of an element: its box cut by every ancestor that clips (a scrolled tab under its arrows).
  const seenRect = (el) => {
    const r = el.getBoundingClientRect()
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom]
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX === 'visible') continue
      const q = p.getBoundingClientRect()
      ;[left, top, right, bottom] = [Math.max(left, q.left), Math.max(top, q.top), Math.min(right, q.right), Math.min(bottom, q.bottom)]
    }
    return { left, top, right, bottom }
  }
  const named = (el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} «${
    (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 30)}»`
  // Inside the viewport horizontally, and not cut by an ancestor that hides overflow, unless something scrolls.
  const placed = (el) => {
    const r = el.getBoundingClientRect()
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p)) return
      const s = getComputedStyle(p)
      if (/hidden|clip/.test(s.overflowX)) {
        const q = p.getBoundingClientRect()
        if (r.left < q.left - 1 || r.right > q.right + 1) {
          problems.push(`${named(el)} is cut by ${named(p)}: ${r.left}–${r.right} outside ${q.left}–${q.right}`)
          return
        }
      }
    }
    if (r.left < -1 || r.right > vw + 1) problems.push(`${named(el)} is outside the viewport: ${r.left}–${r.right}`)
  }
  const seen = new Set()
  for (const selector of controls) {
    for (const el of document.querySelectorAll(selector)) {
      if (seen.has(el) || !shown(el)) continue
      seen.add(el)
      placed(el)
      if (textBearing.some((t) => el.matches(t)) && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`${named(el)}: its text does not fit (${el.scrollWidth} > ${el.clientWidth})`)
      }
    }
  }
  for (const group of groups) {
    const items = [...document.querySelectorAll(group)].filter(shown)
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const [a, b] = [items[i], items[j]]
        if (a.contains(b) || b.contains(a)) continue
        const [p, q] = [seenRect(a), seenRect(b)]
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left)
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top)
        if (x > 1 && y > 1) problems.push(`${named(a)} overlaps ${named(b)} by ${x}×${y}`)
      }
    }
  }
  return problems
}
"""


# Every visible text against the colour behind it: 7:1 or more (WCAG AAA, what 长辈版 promises), 4.5:1 for the text
# of a control that cannot be used now. Text on a picture or a gradient (登录's sky) is not judged here.
LOW_CONTRAST = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number)
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
  }
  const behind = (el) => {
    for (let p = el; p; p = p.parentElement) {
      const s = getComputedStyle(p)
      if (s.backgroundImage !== 'none') return null
      const c = rgb(s.backgroundColor)
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3)
    }
    return [255, 255, 255]
  }
  const problems = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const judged = new Set()
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement
    if (!node.textContent.trim() || !el || judged.has(el)) continue
    judged.add(el)
    const r = el.getBoundingClientRect()
    const s = getComputedStyle(el)
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden' || el.closest('[aria-hidden="true"]')) continue
    if (r.bottom < 0 || r.top > innerHeight) continue
    const back = behind(el)
    if (!back) continue
    const [a, b] = [lum(rgb(s.color).slice(0, 3)), lum(back)]
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
    const disabled = el.closest('.is-disabled, [disabled], [aria-disabled="true"]')
    if (ratio < (disabled ? 4.5 : 7)) {
      problems.push(`«${node.textContent.trim().slice(0, 20)}» ${s.color} on rgb(${back}): ${ratio.toFixed(2)}:1`)
    }
  }
  return problems
}
"""


def assert_laid_out(page: Page, where: str) -> None:
    page.wait_for_timeout(350)  # Element Plus's entrance animations and the menu's width transition
    problems = page.evaluate(
        LAYOUT_PROBLEMS, {"controls": CONTROLS, "textBearing": TEXT_BEARING, "groups": SIDE_BY_SIDE}
    )
    problems += page.evaluate(LOW_CONTRAST)
    shot(page, f"senior-{where}")
    assert not problems, f"长辈版, {where}:\n" + "\n".join(problems)


def font_size(locator: Locator) -> float:
    return float(locator.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))


def senior_on(page: Page) -> bool:
    return bool(page.evaluate(f"() => document.documentElement.classList.contains('{SENIOR}')"))


def switch(page: Page) -> Locator:
    return page.get_by_role("button", name="长辈版", exact=True)


def turn(page: Page, on: bool) -> None:
    button = switch(page)
    if button.get_attribute("aria-pressed") != ("true" if on else "false"):
        button.click()
    expect(button).to_have_attribute("aria-pressed", "true" if on else "false")
    assert senior_on(page) is on


def logout(page: Page) -> None:
    page.get_by_role("button", name="退出", exact=True).click()
    confirm(page, "确定退出系统吗？")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()


@pytest.fixture(scope="module")
def demo(stack) -> Iterator[httpx.Client]:
    client = login(stack.gateway_url)
    yield client
    client.close()


def pending(demo: httpx.Client) -> dict:
    """An application submitted and received by customs (待办), so 查询 and 海关处理 have a row and a tag."""
    body = form()
    link(demo, body)
    saved = create(demo, body)
    assert upload(demo, saved["id"]).status_code == 201
    assert demo.post(f"/api/v1/coordination-requests/{saved['id']}/submit").status_code == 200
    return wait_until(status_of(demo, saved["id"]), lambda r: r["status"] == "PENDING")


def test_senior_mode_grows_the_text_and_is_remembered_per_user(page: Page) -> None:
    page.goto("/login")
    label = page.locator(".el-form-item__label").filter(has_text="用户名")
    body = page.locator("body")
    standard = {"body": font_size(body), "label": font_size(label)}
    expect(switch(page)).to_have_attribute("aria-pressed", "false")
    page.get_by_role("button", name="验证码图片，点击刷新").wait_for()
    page.mouse.move(640, 700)
    before = page.screenshot(animations="disabled")

    # On 登录 (no one logged in yet): the device's choice. Off again, the page is the standard one to the pixel.
    turn(page, True)
    assert font_size(body) >= 1.5 * standard["body"]
    assert font_size(label) >= 1.5 * standard["label"]
    turn(page, False)
    page.mouse.move(640, 700)
    page.wait_for_timeout(300)  # the transitions of borders and colours
    assert page.screenshot(animations="disabled") == before, "off, 长辈版 left something of itself"
    turn(page, True)
    page.reload()
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert senior_on(page)
    turn(page, False)
    page.reload()
    expect(switch(page)).to_have_attribute("aria-pressed", "false")

    # In the header: demo's own choice, kept over a reload.
    log_in_on_screen(page)
    page.get_by_role("tab", name="业务应用").wait_for()
    page.goto("/xh/apply")
    expect(page.get_by_role("heading", name="请选择享惠证明类型")).to_be_visible()
    title = page.get_by_role("heading", name="请选择享惠证明类型")
    item = menu(page).get_by_role("menuitem", name="享惠受阻协调查询")
    standard |= {"title": font_size(title), "menu": font_size(item), "body": font_size(body)}
    turn(page, True)
    for name, locator in (("title", title), ("menu", item), ("body", body)):
        assert font_size(locator) >= 1.5 * standard[name], name
    page.reload()
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert font_size(item) >= 1.5 * standard["menu"]

    # After 退出, 登录 shows the device's choice (off), not demo's; officer does not inherit demo's choice.
    logout(page)
    assert not senior_on(page)
    log_in_on_screen(page, "officer", "Officer@2026")
    page.get_by_role("tab", name="业务应用").wait_for()
    expect(switch(page)).to_have_attribute("aria-pressed", "false")
    assert not senior_on(page)
    logout(page)

    # demo logging in again gets demo's choice back.
    log_in_on_screen(page)
    page.get_by_role("tab", name="业务应用").wait_for()
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    assert senior_on(page)


def test_a_user_who_never_chose_keeps_what_login_showed(page: Page) -> None:
    page.goto("/login")
    turn(page, True)
    log_in_on_screen(page, "officer", "Officer@2026")
    page.get_by_role("tab", name="业务应用").wait_for()
    expect(switch(page)).to_have_attribute("aria-pressed", "true")
    turn(page, False)  # officer's own choice now; 登录 keeps the device's
    logout(page)
    expect(switch(page)).to_have_attribute("aria-pressed", "true")


def test_senior_mode_lays_out_every_main_screen_at_1280x720(page: Page, demo: httpx.Client) -> None:
    application = pending(demo)
    page.goto("/login")
    turn(page, True)
    page.get_by_role("button", name="验证码图片，点击刷新").wait_for()
    assert_laid_out(page, "login")

    page.get_by_role("tab", name="卡介质登录").click()
    expect(page.get_by_role("button", name="卡介质登录", exact=True)).to_be_visible()
    assert_laid_out(page, "card-login")

    sign_in(page)
    page.goto("/")
    page.get_by_role("tab", name="业务应用").click()
    assert_laid_out(page, "home")

    page.goto("/xh/account/password")
    expect(page.get_by_role("textbox", name="原密码")).to_be_visible()
    assert_laid_out(page, "password")

    page.goto("/xh/apply")
    expect(page.get_by_role("heading", name="请选择享惠证明类型")).to_be_visible()
    assert_laid_out(page, "chooser")

    page.get_by_role("button", name="海关原产地证书 享惠受阻协调申请").click()
    page.get_by_role("button", name="暂存", exact=True).click()
    expect(page.get_by_text("请选择进口国家/地区").first).to_be_visible()  # the red hints on the right
    page.locator(".el-message").wait_for(state="detached")
    assert_laid_out(page, "application-form")

    page.get_by_role("button", name="折叠菜单").click()
    expect(menu(page).get_by_text("享惠受阻协调查询")).to_be_hidden()
    assert_laid_out(page, "menu-folded")
    page.get_by_role("button", name="展开菜单").click()
    expect(menu(page).get_by_text("享惠受阻协调查询")).to_be_visible()

    menu(page).get_by_role("menuitem", name="享惠受阻协调查询").click()
    expect(page.get_by_role("cell", name="待办").first).to_be_visible()
    assert_laid_out(page, "query")
    page.get_by_role("combobox", name="处理状态").press("Enter")
    expect(page.get_by_role("option", name="待办")).to_be_visible()
    assert_laid_out(page, "query-status-list")
    page.keyboard.press("Escape")
    page.get_by_placeholder("开始日期").click()
    expect(page.locator(".el-date-range-picker")).to_be_visible()
    assert_laid_out(page, "query-dates")
    page.keyboard.press("Escape")
    expect(page.locator(".el-date-range-picker")).to_be_hidden()

    page.get_by_role("button", name=application["requestNo"]).click()
    expect(page.get_by_role("tab", name=f"详情 {application['requestNo']}", selected=True)).to_be_visible()
    expect(page.get_by_role("region", name="附件").get_by_role("row").nth(1)).to_be_visible()
    assert_laid_out(page, "detail")

    menu(page).get_by_role("menuitem", name="出口报关单补录").click()
    expect(page.get_by_role("heading", name="出口报关单补录")).to_be_visible()
    assert_laid_out(page, "links")

    page.get_by_role("button", name="退出", exact=True).click()
    expect(page.get_by_role("dialog", name="提示")).to_be_visible()
    assert_laid_out(page, "confirm")
    page.get_by_role("dialog", name="提示").get_by_role("button", name="取消").click()

    # The officer's queue, a case and its 退回 dialog.
    page.context.clear_cookies()
    sign_in(page, "officer", "Officer@2026")
    page.goto("/xh/customs")
    expect(page.get_by_role("cell", name="待办").first).to_be_visible()
    turn(page, True)  # officer's own choice
    assert_laid_out(page, "customs")

    menu(page).get_by_role("menuitem", name="审计记录").click()
    expect(page.get_by_role("main").get_by_role("row").nth(1)).to_be_visible()
    assert_laid_out(page, "audit")

    page.goto(f"/xh/customs/{application['id']}")
    expect(page.get_by_test_id("case-status")).to_contain_text("待办")
    assert_laid_out(page, "case")
    page.get_by_role("button", name="退回", exact=True).click()
    dialog = page.get_by_role("dialog", name="退回协调单")
    expect(dialog).to_be_visible()
    assert_laid_out(page, "dialog")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
