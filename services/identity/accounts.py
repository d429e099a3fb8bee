"""The logged-in user's own account: changing the password (the other sessions of that user end, this one stays)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from services.identity import passwords, sessions
from shared import audit
from shared.bus import Endpoint
from shared.contracts import identity as c
from shared.contracts.common import FieldError
from shared.errors import Conflict, Unauthenticated, ValidationFailed
from shared.runtime import Context

WRONG_OLD_PASSWORD = "原密码错误"  # noqa: S105 (a message)
OLD_PASSWORD_REQUIRED = "请输入原密码"  # noqa: S105 (a message)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Accounts:
    def __init__(self, ctx: Context) -> None:
        self.pool = ctx.pool
        self.idle = timedelta(minutes=ctx.settings.session_idle_minutes)

    async def change_password(self, cmd: c.PasswordChange) -> c.PasswordChanged:
        token_hash = _digest(cmd.token)
        async with self.pool.acquire() as conn:
            user = await conn.fetchrow(
                "SELECT u.id, u.username, u.password_hash, e.credit_code"
                " FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN enterprises e ON e.id = u.enterprise_id"
                " WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()"
                " AND s.last_seen_at > now() - $2::interval AND u.disabled_at IS NULL",
                token_hash,
                self.idle,
            )
            if user is None:
                raise Unauthenticated("登录已失效，请重新登录", code="SESSION_EXPIRED")
            fields: list[FieldError] = []
            # The old password is guessed no more freely than at login: the same count, the same lock.
            from services.identity.service import AccountLocked, Identity, _name_key  # it imports this module

            name_key = _name_key(user["username"])
            if cmd.old_password and not await Identity.count_attempt(conn, name_key):
                raise AccountLocked()
            old_ok = bool(cmd.old_password) and await asyncio.to_thread(
                passwords.verify, user["password_hash"], cmd.old_password
            )
            if old_ok:
                await conn.execute("DELETE FROM login_failures WHERE name_key = $1", name_key)
            if not cmd.old_password:
                fields.append(FieldError(field="oldPassword", message=OLD_PASSWORD_REQUIRED))
            elif not old_ok:
                fields.append(FieldError(field="oldPassword", message=WRONG_OLD_PASSWORD))
            for problem in passwords.problems(cmd.new_password, cmd.old_password if old_ok else None):
                fields.append(FieldError(field="newPassword", message=problem))
            who = {"actor": user["username"], "enterprise": user["credit_code"], "action": "PASSWORD_CHANGE"}
            if fields:
                reasons = ",".join(sorted({f.field for f in fields}))
                await audit.record(conn, **who, result=audit.REFUSED, target=reasons)
                raise ValidationFailed("密码修改失败，请按提示修改", fields=fields)
            new_hash = await asyncio.to_thread(passwords.hasher.hash, cmd.new_password)
            async with conn.transaction():
                # Only over the hash the old password was checked against: of two changes at once, one wins.
                changed = await conn.fetchval(
                    "UPDATE users SET password_hash = $2, password_changed_at = now()"
                    " WHERE id = $1 AND password_hash = $3 RETURNING id",
                    user["id"],
                    new_hash,
                    user["password_hash"],
                )
                if changed is None:
                    raise Conflict("密码已被修改，请重新输入原密码")
                ended = await sessions.end_all(conn, user["id"], "PASSWORD_CHANGED", keep=token_hash)
                await audit.record(conn, **who, target=f"sessionsEnded={ended}")
        return c.PasswordChanged(sessions_ended=ended, user_id=str(user["id"]))


def endpoints(ctx: Context) -> list[Endpoint]:
    accounts = Accounts(ctx)
    return [Endpoint(c.PASSWORD_CHANGE, c.PasswordChange, accounts.change_password)]
