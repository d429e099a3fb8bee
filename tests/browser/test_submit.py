"""提交 refused by the checks of SPEC §4, and 补录 from the refusal's link (issue 8, walks 7 and 8)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.portal import fill_application, message, save, shot, sign_in, submit, upload
from tests.support import export_declaration_no

pytestmark = pytest.mark.browser

NOT_LINKED = "提交失败:出口报关单号未与证书号关联，请点击此处进行出口报关单补录！"


def status(page: Page):
    return page.get_by_role("main").get_by_text("状态：")


def test_certificate_of_another_enterprise_is_refused_on_submit(page: Page) -> None:
    sign_in(page)
    page.goto("/xh/apply/CUSTOMS_CO")
    fill_application(
        page,
        {
            "country": ("hg", "韩国（South Korea）KR"),
            "port": ("fs", "釜山（Busan）KRPUS"),
            "certificateNo": "K2633000000901",
            "exportDeclarationNo": export_declaration_no(),
            "importDeclarationNo": "KR-IMP-2026-0901",
            "reason": "韩国海关不认可原产地证书。",
        },
    )
    save(page)  # the number exists, so it saves; whose it is counts only on submit
    upload(page)
    submit(page)

    expect(page.get_by_role("alert").filter(has_text="企业填写证书有误").first).to_be_visible()
    expect(page.get_by_role("main").get_by_role("alert")).to_have_text("企业填写证书有误")
    expect(status(page)).to_have_text(re.compile(r"^状态：\s*暂存$"))
    expect(page.get_by_role("button", name="提交", exact=True)).to_be_enabled()  # still a draft to correct


def test_unlinked_declaration_refused_then_linked_from_the_message_and_submitted(page: Page) -> None:
    declaration = export_declaration_no()
    sign_in(page)
    page.goto("/xh/apply/CUSTOMS_CO")
    fill_application(
        page,
        {
            "country": ("yn", "越南（Vietnam）VN"),
            "port": ("hcm", "胡志明市（Ho Chi Minh City）VNSGN"),
            "certificateNo": "K2631000000002",
            "exportDeclarationNo": declaration,
            "importDeclarationNo": "VN-IMP-2026-0002",
            "reason": "越南海关称出口报关单与原产地证书不符。",
        },
    )
    request_no = save(page)
    upload(page)
    submit(page)

    refusal = page.get_by_role("main").get_by_role("alert").filter(has_text="提交失败")
    expect(refusal).to_have_text(NOT_LINKED)
    link = refusal.get_by_role("link", name="请点击此处")
    expect(link).to_be_visible()
    shot(page, "not-linked")
    link.click()

    expect(page.get_by_role("tab", name="出口报关单补录", selected=True)).to_be_visible()
    expect(page.get_by_role("combobox", name="享惠证明类型")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("海关原产地证书", exact=True).first).to_be_visible()
    expect(page.get_by_role("textbox", name="原产地证书号/声明号")).to_have_value("K2631000000002")
    expect(page.get_by_role("textbox", name="出口报关单号")).to_have_value(declaration)
    page.get_by_role("button", name="补录", exact=True).click()
    expect(message(page, "补录成功")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=declaration)).to_contain_text("K2631000000002")

    page.get_by_role("tab", name=f"详情 {request_no}").click()
    # The tab kept what it showed, but not the refusal 补录 has answered (issue 18).
    expect(page.get_by_role("textbox", name="进口报关单号")).to_have_value("VN-IMP-2026-0002")
    expect(refusal).to_have_count(0)
    submit(page)
    expect(message(page, "申报成功")).to_be_visible()
    expect(refusal).to_have_count(0)
    expect(status(page)).to_have_text(re.compile(r"^状态：\s*(已申报|待办)$"))
    expect(page.get_by_role("button", name="提交", exact=True)).to_have_count(0)  # no longer editable
