"""The logged-in user's own account: changing the password (the other sessions of that user end, this one stays)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.identity import passwords
from services.identity.login import AccountLocked, count_attempt, digest, name_key
from services.identity.repository import Directory, SessionUser, Store
from shared import audit
from shared.bus import Endpoint
from shared.contracts import identity as c
from shared.contracts.common import FieldError
from shared.errors import Conflict, Unauthenticated, ValidationFailed

WRONG_OLD_PASSWORD = "原密码错误"  # noqa: S105 (a message)
OLD_PASSWORD_REQUIRED = "请输入原密码"  # noqa: S105 (a message)


class Accounts:
    def __init__(self, store: Store, idle: timedelta) -> None:
        self.store = store
        self.idle = idle

    async def change_password(self, cmd: c.PasswordChange) -> c.PasswordChanged:
        token_hash = digest(cmd.token)
        async with self.store.reading() as directory:
            user = await directory.session_user(token_hash, self.idle)
            if user is None:
                raise Unauthenticated("登录已失效，请重新登录", code="SESSION_EXPIRED")
            old_ok = await _old_password_ok(directory, user, cmd.old_password)
            fields = _problems(cmd, old_ok)
            who = {"actor": user.username, "enterprise": user.credit_code, "action": "PASSWORD_CHANGE"}
            if fields:
                reasons = ",".join(sorted({f.field for f in fields}))
                await directory.audit(**who, result=audit.REFUSED, target=reasons)
                raise ValidationFailed("密码修改失败，请按提示修改", fields=fields)
            new_hash = await asyncio.to_thread(passwords.hasher.hash, cmd.new_password)
            async with directory.transaction():
                if not await directory.change_password(user.id, new_hash, old_hash=user.password_hash):
                    raise Conflict("密码已被修改，请重新输入原密码")
                ended = await directory.end_sessions(user.id, "PASSWORD_CHANGED", keep=token_hash)
                await directory.audit(**who, target=f"sessionsEnded={ended}")
        return c.PasswordChanged(sessions_ended=ended, user_id=str(user.id))


async def _old_password_ok(directory: Directory, user: SessionUser, old_password: str) -> bool:
    """The old password is guessed no more freely than at login: the same count, the same lock."""
    key = name_key(user.username)
    if old_password and not await count_attempt(directory, key):
        raise AccountLocked()
    ok = bool(old_password) and await asyncio.to_thread(passwords.verify, user.password_hash, old_password)
    if ok:
        await directory.clear_attempts(key)
    return ok


def _problems(cmd: c.PasswordChange, old_ok: bool) -> list[FieldError]:
    """Every reason at once: the old password's, then the policy's for the new one."""
    fields: list[FieldError] = []
    if not cmd.old_password:
        fields.append(FieldError(field="oldPassword", message=OLD_PASSWORD_REQUIRED))
    elif not old_ok:
        fields.append(FieldError(field="oldPassword", message=WRONG_OLD_PASSWORD))
    for problem in passwords.problems(cmd.new_password, cmd.old_password if old_ok else None):
        fields.append(FieldError(field="newPassword", message=problem))
    return fields


def endpoints(store: Store, idle: timedelta) -> list[Endpoint]:
    accounts = Accounts(store, idle)
    return [Endpoint(c.PASSWORD_CHANGE, c.PasswordChange, accounts.change_password)]
