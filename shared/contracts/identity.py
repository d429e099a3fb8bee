"""identity: captcha, login, sessions."""

from __future__ import annotations

from shared.contracts.common import Actor, Contract

CAPTCHA_CREATE = "svc.identity.captcha.create"
LOGIN = "svc.identity.login"
SESSION_VERIFY = "svc.identity.session.verify"
LOGOUT = "svc.identity.logout"
PASSWORD_CHANGE = "svc.identity.password.change"  # noqa: S105 (a subject)


class CaptchaRequest(Contract):
    """Who asks for a captcha: the client's address as the gateway saw it (throttled per address when given)."""

    client_ip: str = ""


class Captcha(Contract):
    captcha_id: str
    image_png: bytes


class LoginCommand(Contract):
    username: str
    password: str
    captcha_id: str
    captcha_code: str
    client_ip: str = ""


class Session(Contract):
    token: str
    actor: Actor
    idle_timeout_seconds: int
    # How long the session stays valid from now if unused (the idle timeout or the absolute end, whichever is
    # first): a gateway never caches it longer.
    valid_for_seconds: float = 0.0


class SessionToken(Contract):
    token: str


class PasswordChange(Contract):
    """The logged-in user (by session token) changes their password; the other sessions of that user end."""

    token: str
    old_password: str
    new_password: str


class PasswordChanged(Contract):
    sessions_ended: int
    user_id: str = ""  # whose: a gateway drops its cached sessions of that user at once
