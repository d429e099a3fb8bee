"""Accounts (issue 9): the admin command against the test stack's identity database, and 修改密码 over the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from services.identity.service import CAPTCHA_WINDOW_SECONDS
from tests.accounts import admin, attempt, audit_records, create_user, login, new_credit_code, new_username

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("captcha_window_left_clear")]


@pytest.fixture(scope="module")
def captcha_window_left_clear() -> Iterator[None]:
    """These tests log in often from one address: the next module starts with identity's captcha throttle clear."""
    yield
    time.sleep(CAPTCHA_WINDOW_SECONDS + 1)


def test_admin_creates_enterprise_and_user_who_logs_in(stack) -> None:
    code = new_credit_code()
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    refused = admin(
        stack,
        "enterprise",
        "create",
        "--name",
        "测试贸易有限公司",
        "--credit-code",
        bad,
        "--customs-code",
        "3105960099",
    )
    assert refused.returncode == 2
    assert "统一社会信用代码无效" in refused.stderr and "invalid unified social credit code" in refused.stderr

    refused = admin(
        stack,
        "enterprise",
        "create",
        "--name",
        "测试贸易有限公司",
        "--credit-code",
        code,
        "--customs-code",
        "31059600AB",
    )
    assert refused.returncode == 2 and "海关注册编码应为10位数字" in refused.stderr

    created = admin(
        stack,
        "enterprise",
        "create",
        "--name",
        "测试贸易有限公司",
        "--credit-code",
        code,
        "--customs-code",
        "3105960099",
    )
    assert created.returncode == 0, created.stderr
    again = admin(
        stack, "enterprise", "create", "--name", "另一家", "--credit-code", code, "--customs-code", "3105960098"
    )
    assert again.returncode == 2 and "统一社会信用代码已存在" in again.stderr

    username = new_username()
    unknown = admin(
        stack,
        "user",
        "create",
        username,
        "--display-name",
        "王测",
        "--enterprise",
        new_credit_code(),
        "--password",
        "Harbour#Line7",
    )
    assert unknown.returncode == 2 and "企业不存在" in unknown.stderr and "unknown enterprise" in unknown.stderr

    weak = admin(
        stack, "user", "create", username, "--display-name", "王测", "--enterprise", code, "--password", "Password123!"
    )
    assert weak.returncode == 2 and "密码过于常见" in weak.stderr

    made = admin(
        stack,
        "user",
        "create",
        username,
        "--display-name",
        "王测",
        "--enterprise",
        code,
        "--password-stdin",
        stdin="Harbour#Line7\n",
    )
    assert made.returncode == 0, made.stderr
    duplicate = admin(
        stack, "user", "create", username, "--display-name", "王测", "--enterprise", code, "--password", "Harbour#Line7"
    )
    assert duplicate.returncode == 2 and "用户名已存在" in duplicate.stderr and "duplicate username" in duplicate.stderr

    with closing(login(stack.gateway_url, username, "Harbour#Line7")) as client:
        me = client.get("/api/v1/me").json()
    assert me["displayName"] == "王测" and me["role"] == "ENTERPRISE"
    assert me["enterprise"] == {"name": "测试贸易有限公司", "creditCode": code, "customsCode": "3105960099"}


def test_admin_creates_an_officer(stack) -> None:
    username = new_username("officer")
    made = admin(
        stack, "user", "create", username, "--display-name", "李关员", "--officer", "--password", "Customs#Desk9"
    )
    assert made.returncode == 0, made.stderr
    with closing(login(stack.gateway_url, username, "Customs#Desk9")) as client:
        me = client.get("/api/v1/me").json()
        assert me["role"] == "OFFICER" and me["enterprise"] is None
        assert client.get("/api/v1/customs/coordination-requests").status_code == 200


def test_disable_ends_every_session_at_once_and_refuses_login(stack) -> None:
    username, password = create_user(stack)
    first, second = login(stack.gateway_url, username, password), login(stack.gateway_url, username, password)
    with closing(first), closing(second):
        assert first.get("/api/v1/me").status_code == 200
        disabled = admin(stack, "user", "disable", username)
        assert disabled.returncode == 0, disabled.stderr
        assert "2" in disabled.stdout  # sessions ended
        assert "会话缓存" not in disabled.stdout  # and the gateways were told before the command returned
        for client in (first, second):
            gone = client.get("/api/v1/me")
            assert gone.status_code == 401 and gone.json()["code"] == "SESSION_EXPIRED"
    refused = attempt(stack.gateway_url, username, password)
    assert refused.status_code == 403 and refused.json()["message"] == "账号已停用，请联系管理员"
    assert attempt(stack.gateway_url, username, "Wrong#Pass99").status_code == 401  # a wrong password says nothing more

    assert admin(stack, "user", "enable", username).returncode == 0
    actions = [r["action"] for r in audit_records(stack, target=username) if r["actor"].startswith("admin:")]
    assert actions == ["ADMIN_USER_CREATE", "ADMIN_USER_DISABLE", "ADMIN_USER_ENABLE"]
    with closing(login(stack.gateway_url, username, password)) as client:
        assert client.get("/api/v1/me").status_code == 200
    unknown = admin(stack, "user", "disable", new_username())
    assert unknown.returncode == 2 and "用户不存在" in unknown.stderr and "unknown user" in unknown.stderr


def test_reset_password_applies_the_policy_and_ends_sessions(stack) -> None:
    username, password = create_user(stack)
    with closing(login(stack.gateway_url, username, password)) as client:
        weak = admin(stack, "user", "reset-password", username, "--password", "short")
        assert weak.returncode == 2
        assert "密码长度不能少于8位" in weak.stderr and "至少三类" in weak.stderr
        same = admin(stack, "user", "reset-password", username, "--password", password)
        assert same.returncode == 2 and "新密码不能与原密码相同" in same.stderr
        assert client.get("/api/v1/me").status_code == 200  # refusals change nothing

        reset = admin(stack, "user", "reset-password", username, "--password", "Fresh#Start42")
        assert reset.returncode == 0, reset.stderr
        assert client.get("/api/v1/me").status_code == 401
    assert attempt(stack.gateway_url, username, password).status_code == 401
    with closing(login(stack.gateway_url, username, "Fresh#Start42")) as client:
        assert client.get("/api/v1/me").status_code == 200


def test_change_password_over_the_api(stack) -> None:
    username, password = create_user(stack)
    current, other = login(stack.gateway_url, username, password), login(stack.gateway_url, username, password)
    with closing(current), closing(other):
        url = "/api/v1/me/password"
        wrong = current.post(url, json={"oldPassword": "Not#MyPass1", "newPassword": "Brand#New2026"})
        assert wrong.status_code == 422
        assert wrong.json()["fields"] == [{"field": "oldPassword", "message": "原密码错误"}]

        weak = current.post(url, json={"oldPassword": password, "newPassword": "abc"})
        assert weak.status_code == 422
        assert weak.json()["fields"] == [
            {"field": "newPassword", "message": "密码长度不能少于8位"},
            {"field": "newPassword", "message": "密码须包含大写字母、小写字母、数字、符号中的至少三类"},
            {"field": "newPassword", "message": "密码过于常见，容易被猜中，请换一个"},
        ]
        both = current.post(url, json={"oldPassword": "", "newPassword": "Aa123456!"}).json()["fields"]
        assert both == [
            {"field": "oldPassword", "message": "请输入原密码"},
            {"field": "newPassword", "message": "密码过于常见，容易被猜中，请换一个"},
        ]
        same = current.post(url, json={"oldPassword": password, "newPassword": password}).json()["fields"]
        assert same == [{"field": "newPassword", "message": "新密码不能与原密码相同"}]
        assert other.get("/api/v1/me").status_code == 200  # refusals end nothing

        changed = current.post(url, json={"oldPassword": password, "newPassword": "Brand#New2026"})
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"message": "密码修改成功", "sessionsEnded": 1}
        assert current.get("/api/v1/me").status_code == 200  # this session stays
        assert other.get("/api/v1/me").status_code == 401  # every other one ended
    assert attempt(stack.gateway_url, username, password).status_code == 401
    with closing(login(stack.gateway_url, username, "Brand#New2026")) as client:
        assert client.get("/api/v1/me").status_code == 200
    trail = [(r["result"], r["target"]) for r in audit_records(stack, actor=username, action="PASSWORD_CHANGE")]
    assert trail == [
        ("REFUSED", "oldPassword"),
        ("REFUSED", "newPassword"),
        ("REFUSED", "newPassword,oldPassword"),
        ("REFUSED", "newPassword"),
        ("SUCCESS", "sessionsEnded=1"),
    ]

    anonymous = httpx.post(stack.gateway_url + "/api/v1/me/password", json={"oldPassword": "x", "newPassword": "y"})
    assert anonymous.status_code == 401


def test_the_old_password_is_not_guessed_more_freely_than_at_login(stack) -> None:
    username, password = create_user(stack)
    url = "/api/v1/me/password"
    with closing(login(stack.gateway_url, username, password)) as client:
        for _ in range(5):
            guess = client.post(url, json={"oldPassword": "Guess#" + new_username(), "newPassword": "Brand#New2026"})
            assert guess.status_code == 422 and guess.json()["fields"][0]["field"] == "oldPassword"
        locked = client.post(url, json={"oldPassword": password, "newPassword": "Brand#New2026"})
        assert locked.status_code == 423 and locked.json()["code"] == "ACCOUNT_LOCKED"


def test_session_says_who_is_logged_in_and_never_401(stack) -> None:
    """Issue 18: the portal's first question (a 401 would be logged in the browser's console on every visit)."""
    with httpx.Client(base_url=stack.gateway_url) as anonymous:
        answer = anonymous.get("/api/v1/session")
        assert answer.status_code == 200 and answer.json() == {"user": None}
        anonymous.cookies.set("xh_session", "not-a-session")
        assert anonymous.get("/api/v1/session").json() == {"user": None}
    client = login(stack.gateway_url, "demo", "Demo@2026")  # a session of its own: its logout ends no other
    assert client.get("/api/v1/session").json()["user"] == client.get("/api/v1/me").json()
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/session").json() == {"user": None}
