"""修改密码 from the user menu at the top right, as a person does it (issue 9). A fresh user, never `demo`."""

from __future__ import annotations

import re
from contextlib import closing

import pytest
from playwright.sync_api import Page, expect

from tests.accounts import create_user, login
from tests.browser.portal import api_client, message, shot, sign_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Brand#New2026"


def test_change_password_from_the_user_menu(page: Page, stack) -> None:
    username, password = create_user(stack, display_name="改密用户")
    other_session = login(stack.gateway_url, username, password)  # elsewhere, ended by the change
    sign_in(page, username, password)
    page.goto("/xh/query")

    page.get_by_role("button", name="改密用户").click()  # the user name at the top right
    page.get_by_role("menuitem", name="修改密码").click()
    expect(page).to_have_url(re.compile(r"/xh/account/password$"))
    expect(page.get_by_role("tab", name="修改密码")).to_be_visible()
    old, new, again = (page.get_by_label(name, exact=True) for name in ("原密码", "新密码", "确认新密码"))
    submit = page.get_by_role("button", name="确认修改")

    # The two new passwords differ: said before anything is sent.
    old.fill(password)
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD + "x")
    submit.click()
    expect(page.get_by_text("两次输入的新密码不一致")).to_be_visible()

    # A wrong old password and a weak new one: every problem at once, each on its field.
    old.fill("Not#MyPass1")
    new.fill("abc")
    again.fill("abc")
    submit.click()
    expect(page.get_by_text("原密码错误")).to_be_visible()
    expect(
        page.get_by_text(
            "密码长度不能少于8位；密码须包含大写字母、小写字母、数字、符号中的至少三类；密码过于常见，容易被猜中，请换一个"
        )
    ).to_be_visible()
    expect(page.get_by_text("两次输入的新密码不一致")).to_be_hidden()
    shot(page, "password-refused")

    old.fill(password)
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    submit.click()
    expect(message(page, "密码修改成功")).to_be_visible()
    expect(page.get_by_text("原密码错误")).to_be_hidden()
    expect(old).to_have_value("")

    # This session stays, the other one ended, and the new password is the one that works.
    with api_client(page) as same_session:
        assert same_session.get("/api/v1/me").status_code == 200
    with closing(other_session):
        assert other_session.get("/api/v1/me").status_code == 401
    with closing(login(stack.gateway_url, username, NEW_PASSWORD)) as client:
        assert client.get("/api/v1/me").json()["username"] == username
