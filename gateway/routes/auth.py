"""Login with password + captcha, logout, and who am I."""

from __future__ import annotations

import base64

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency

from gateway import apidoc
from gateway.deps import SESSION_COOKIE, call, current_actor, decode_body
from shared.contracts import identity
from shared.contracts.common import Actor, Empty, Role
from shared.errors import Unauthenticated


class LoginIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    username: str
    password: str
    captcha_id: str
    captcha_code: str


class EnterpriseOut(msgspec.Struct, kw_only=True, rename="camel"):
    name: str
    credit_code: str
    customs_code: str


class Me(msgspec.Struct, kw_only=True, rename="camel"):
    """The logged-in user; `enterprise` only for enterprise users."""

    user_id: str
    username: str
    display_name: str
    role: Role
    enterprise: EnterpriseOut | None


class LoggedIn(msgspec.Struct, kw_only=True):
    message: str
    user: Me


class CaptchaOut(msgspec.Struct, kw_only=True, rename="camel"):
    captcha_id: str
    image: str  # a data: URL of the PNG


def me_body(actor: NamedDependency[Actor]) -> Me:
    enterprise = None
    if actor.role == "ENTERPRISE":
        enterprise = EnterpriseOut(
            name=actor.enterprise_name or "", credit_code=actor.credit_code or "", customs_code=actor.customs_code or ""
        )
    return Me(
        user_id=actor.user_id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role,
        enterprise=enterprise,
    )


@get("/api/v1/auth/captcha", summary="New image captcha (id + PNG)", responses=apidoc.refusals(429))
async def captcha(request: Request) -> Response[CaptchaOut]:
    client_ip = request.client.host if request.client else ""
    result = await call(
        request, identity.CAPTCHA_CREATE, identity.CaptchaRequest(client_ip=client_ip), identity.Captcha
    )
    body = CaptchaOut(
        captcha_id=result.captcha_id, image="data:image/png;base64," + base64.b64encode(result.image_png).decode()
    )
    return Response(body, headers={"Cache-Control": "no-store"})


@post(
    "/api/v1/auth/login",
    summary="Log in with username, password and captcha; sets the session cookie",
    status_code=200,
    responses=apidoc.refusals(401, 423, 429, write=True),
    operation_class=apidoc.json_body(LoginIn),
)
async def login(request: Request) -> Response[LoggedIn]:
    body = await decode_body(request, LoginIn)
    client_ip = request.client.host if request.client else ""
    session = await call(
        request,
        identity.LOGIN,
        identity.LoginCommand(
            username=body.username,
            password=body.password,
            captcha_id=body.captcha_id,
            captcha_code=body.captcha_code,
            client_ip=client_ip,
        ),
        identity.Session,
    )
    settings = request.app.state.settings
    cookie = Cookie(
        key=SESSION_COOKIE, value=session.token, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/"
    )
    return Response(LoggedIn(message="登录成功", user=me_body(session.actor)), cookies=[cookie], status_code=200)


@post("/api/v1/auth/logout", summary="End the session", status_code=200, responses=apidoc.refusals(write=True))
async def logout(request: Request) -> Response[apidoc.Message]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.sessions.drop_token(token)
        await call(request, identity.LOGOUT, identity.SessionToken(token=token), Empty)
    expired = Cookie(
        key=SESSION_COOKIE,
        value="",
        max_age=0,
        httponly=True,
        path="/",
        secure=request.app.state.settings.cookie_secure,
        samesite="lax",
    )
    return Response(apidoc.Message(message="已退出"), cookies=[expired], status_code=200)


@get("/api/v1/me", summary="The logged-in user, role and enterprise", responses=apidoc.refusals(401))
async def me(actor: NamedDependency[Actor]) -> Me:
    return me_body(actor)


class SessionState(msgspec.Struct, kw_only=True):
    """Who is logged in on this browser: the user, or null when nobody is."""

    user: Me | None


@get(
    "/api/v1/session",
    summary="Who is logged in, if anyone: 200 with user null instead of /me's 401 (the portal's first question)",
    responses=apidoc.refusals(),
)
async def session(request: Request) -> SessionState:
    # A browser logs every 401 in its console: the portal asks this before it knows whether anyone logged in.
    try:
        actor = await current_actor(request)
    except Unauthenticated:
        return SessionState(user=None)
    return SessionState(user=me_body(actor))


routes = [captcha, login, logout, me, session]
