"""The logged-in user's own account: 修改密码."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, post

from gateway import apidoc
from gateway.deps import SESSION_COOKIE, call, decode_body
from shared.contracts import identity
from shared.errors import Unauthenticated


class PasswordChangedOut(msgspec.Struct, kw_only=True, rename="camel"):
    message: str
    sessions_ended: int  # the user's other sessions that ended


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    old_password: str = ""
    new_password: str = ""


@post(
    "/api/v1/me/password",
    summary="修改密码: the old password and a new one that meets the policy; the user's other sessions end",
    status_code=200,
    # 409: changed meanwhile by another session; 423: wrong old passwords lock the account as wrong logins do.
    responses=apidoc.refusals(401, 409, 423, write=True),
    operation_class=apidoc.json_body(PasswordIn),
)
async def change_password(request: Request) -> Response[PasswordChangedOut]:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated()
    body = await decode_body(request, PasswordIn)
    changed = await call(
        request,
        identity.PASSWORD_CHANGE,
        identity.PasswordChange(token=token, old_password=body.old_password, new_password=body.new_password),
        identity.PasswordChanged,
    )
    # This gateway forgets the ended sessions before answering; identity's event tells the others.
    request.app.state.sessions.drop_user(changed.user_id)
    return Response(PasswordChangedOut(message="密码修改成功", sessions_ended=changed.sessions_ended), status_code=200)


routes = [change_password]
