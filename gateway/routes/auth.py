"""Login with password + captcha, logout, and who am I."""

from __future__ import annotations

import base64

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency

from gateway import apidoc
from gateway.deps import SESSION_COOKIE, call, decode_body
from shared.contracts import identity
from shared.contracts.common import Actor, Empty


class LoginIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    username: str
    password: str
    captcha_id: str
    captcha_code: str


def me_body(actor: NamedDependency[Actor]) -> dict:
    return {
        "userId": actor.user_id,
        "username": actor.username,
        "displayName": actor.display_name,
        "role": actor.role,
        "enterprise": (
            {"name": actor.enterprise_name, "creditCode": actor.credit_code, "customsCode": actor.customs_code}
            if actor.role == "ENTERPRISE"
            else None
        ),
    }


@get("/api/v1/auth/captcha", summary="New image captcha (id + PNG)", responses=apidoc.refusals(429))
async def captcha(request: Request) -> Response:
    client_ip = request.client.host if request.client else ""
    result = await call(
        request, identity.CAPTCHA_CREATE, identity.CaptchaRequest(client_ip=client_ip), identity.Captcha
    )
    body = {
        "captchaId": result.captcha_id,
        "image": "data:image/png;base64," + base64.b64encode(result.image_png).decode(),
    }
    return Response(body, headers={"Cache-Control": "no-store"})


@post(
    "/api/v1/auth/login",
    summary="Log in with username, password and captcha; sets the session cookie",
    status_code=200,
    responses=apidoc.refusals(401, 423, 429, write=True),
    operation_class=apidoc.body(LoginIn),
)
async def login(request: Request) -> Response:
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
    return Response({"message": "登录成功", "user": me_body(session.actor)}, cookies=[cookie], status_code=200)


@post("/api/v1/auth/logout", summary="End the session", status_code=200, responses=apidoc.refusals(write=True))
async def logout(request: Request) -> Response:
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
    return Response({"message": "已退出"}, cookies=[expired], status_code=200)


@get("/api/v1/me", summary="The logged-in user, role and enterprise", responses=apidoc.refusals(401))
async def me(actor: NamedDependency[Actor]) -> dict:
    return me_body(actor)


routes = [captcha, login, logout, me]
