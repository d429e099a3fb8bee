"""Account administration straight on identity's database (DATABASE_URL), for operators.

    python -m services.identity.admin enterprise create --name NAME --credit-code USCC --customs-code 0123456789
    python -m services.identity.admin user create USERNAME --display-name NAME (--enterprise USCC | --officer)
                                                  [--password PASSWORD | --password-stdin]
    python -m services.identity.admin user disable USERNAME      (every session of the user ends at once)
    python -m services.identity.admin user enable USERNAME
    python -m services.identity.admin user reset-password USERNAME [--password PASSWORD | --password-stdin]

Without --password or --password-stdin the password is asked for twice on the terminal. Passwords obey the policy
of services/identity/passwords.py and are stored as argon2id hashes. Exit status: 0 done, 2 refused (the reason is
printed in Chinese and English: invalid credit code, duplicate username, unknown enterprise, weak password …).
Every command that succeeds leaves a record in identity's audit trail (actor `admin:<OS user>`).

Other command groups plug in through COMMAND_GROUPS: a function that adds its subparser to the top-level
subparsers and sets `run` (an `async def run(directory, args) -> str`, the directory a repository.Administration)
on each of its commands, e.g. a `card` group.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from stdnum.cn import uscc

from services.identity import passwords, sm2
from services.identity.login import name_key
from services.identity.repository import Administration, AlreadyExists, Malformed, PostgresDirectory

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")
CUSTOMS_CODE = re.compile(r"^[0-9]{10}$")
REFUSED = 2

Run = Callable[[Administration, argparse.Namespace], Awaitable[str]]


class Refused(Exception):
    """Bad input: printed as `错误：<Chinese> (error: <English>)`, exit status 2."""

    def __init__(self, chinese: str, english: str) -> None:
        super().__init__(f"错误：{chinese} (error: {english})")


# ---- enterprises ----------------------------------------------------------------------------------------------


def credit_code(value: str) -> str:
    code = uscc.compact(value or "")
    if not uscc.is_valid(code):
        raise Refused(f"统一社会信用代码无效：{value}", f"invalid unified social credit code: {value}")
    return code


async def create_enterprise(directory: Administration, args: argparse.Namespace) -> str:
    name = args.name.strip()
    if not name or len(name) > 200:
        raise Refused("企业名称不能为空且不超过200字", "enterprise name must be 1 to 200 characters")
    code = credit_code(args.credit_code)
    if not CUSTOMS_CODE.match(args.customs_code):
        raise Refused(
            f"海关注册编码应为10位数字：{args.customs_code}",
            f"customs registration code must be 10 digits: {args.customs_code}",
        )
    if not await directory.add_enterprise(code, name, args.customs_code):
        raise Refused(f"统一社会信用代码已存在：{code}", f"an enterprise with credit code {code} already exists")
    return f"已创建企业 {name} ({code}) / enterprise created"


# ---- users ----------------------------------------------------------------------------------------------------


def read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise Refused(
            "请用 --password 或 --password-stdin 给出密码", "give the password with --password or --password-stdin"
        )
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再次输入 / again: ") != first:
        raise Refused("两次输入的密码不一致", "the passwords do not match")
    return first


def check_policy(password: str, old: str | None = None) -> None:
    problems = passwords.problems(password, old)
    if problems:
        raise Refused("密码不符合要求：" + "；".join(problems), "the password does not meet the password policy")


async def user_id(directory: Administration, username: str) -> uuid.UUID:
    found = await directory.user_id(username)
    if found is None:
        raise Refused(f"用户不存在：{username}", f"unknown user: {username}")
    return found


async def create_user(directory: Administration, args: argparse.Namespace) -> str:
    username, display_name = args.username, args.display_name.strip()
    if not USERNAME.match(username):
        raise Refused(
            "用户名应为3至64位字母、数字或 _ . @ -，以字母或数字开头",
            "username must be 3 to 64 letters, digits or _ . @ -, starting with a letter or digit",
        )
    if not display_name or len(display_name) > 100:
        raise Refused("姓名不能为空且不超过100字", "display name must be 1 to 100 characters")
    enterprise = None
    if not args.officer:
        code = credit_code(args.enterprise)
        enterprise = await directory.enterprise_id(code)
        if enterprise is None:
            raise Refused(f"企业不存在：{code}", f"unknown enterprise: {code}")
    if await directory.user_id(username) is not None:
        raise Refused(f"用户名已存在：{username}", f"duplicate username: {username}")
    password = read_password(args)
    check_policy(password)
    password_hash = await asyncio.to_thread(passwords.hasher.hash, password)
    kind = "OFFICER" if args.officer else "ENTERPRISE"
    try:
        await directory.add_user(username, display_name, password_hash, kind, enterprise, password_set_now=True)
    except AlreadyExists:
        raise Refused(f"用户名已存在：{username}", f"duplicate username: {username}") from None
    role = "海关关员 / officer" if args.officer else f"企业用户 / enterprise user of {args.enterprise}"
    return f"已创建用户 {username} ({role}) / user created"


async def disable_user(directory: Administration, args: argparse.Namespace) -> str:
    async with directory.transaction():  # disabled and every session ended together
        user = await user_id(directory, args.username)
        await directory.set_disabled(user, True)
        ended = await directory.end_sessions(user, "USER_DISABLED")
    return f"已停用用户 {args.username}，结束会话 {ended} 个 / user disabled, {ended} sessions ended"


async def enable_user(directory: Administration, args: argparse.Namespace) -> str:
    user = await user_id(directory, args.username)
    await directory.set_disabled(user, False)
    return f"已启用用户 {args.username} / user enabled"


async def reset_password(directory: Administration, args: argparse.Namespace) -> str:
    user = await user_id(directory, args.username)
    password = read_password(args)
    check_policy(password)
    current = await directory.password_hash(user)
    if await asyncio.to_thread(passwords.verify, current, password):
        raise Refused(passwords.SAME_AS_OLD, "the new password is the same as the current one")
    password_hash = await asyncio.to_thread(passwords.hasher.hash, password)
    async with directory.transaction():
        await directory.reset_password(user, password_hash)
        ended = await directory.end_sessions(user, "PASSWORD_RESET")
        await directory.clear_attempts(name_key(args.username))  # the login lockout's count for this name
    return f"已重置用户 {args.username} 的密码，结束会话 {ended} 个 / password reset, {ended} sessions ended"


# ---- the command line -----------------------------------------------------------------------------------------


def _password_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--password", help="the password (visible in the process list; prefer --password-stdin)")
    source.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")


def enterprise_commands(groups: argparse._SubParsersAction) -> None:
    enterprise = groups.add_parser("enterprise", help="enterprises").add_subparsers(dest="command", required=True)
    create = enterprise.add_parser("create", help="create an enterprise")
    create.add_argument("--name", required=True, help="企业中文名称")
    create.add_argument("--credit-code", required=True, help="统一社会信用代码 (18 characters, checked)")
    create.add_argument("--customs-code", required=True, help="海关注册编码 (10 digits)")
    create.set_defaults(run=create_enterprise)


def user_commands(groups: argparse._SubParsersAction) -> None:
    user = groups.add_parser("user", help="enterprise users and officers").add_subparsers(dest="command", required=True)
    create = user.add_parser("create", help="create an enterprise user or an officer")
    create.add_argument("username")
    create.add_argument("--display-name", required=True, help="姓名")
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--enterprise", metavar="USCC", help="the enterprise's credit code (enterprise user)")
    kind.add_argument("--officer", action="store_true", help="a customs officer")
    _password_options(create)
    create.set_defaults(run=create_user)
    disable = user.add_parser("disable", help="disable a user; every session of theirs ends at once")
    disable.add_argument("username")
    disable.set_defaults(run=disable_user)
    enable = user.add_parser("enable", help="enable a disabled user again")
    enable.add_argument("username")
    enable.set_defaults(run=enable_user)
    reset = user.add_parser("reset-password", help="set a new password; the user's sessions end")
    reset.add_argument("username")
    _password_options(reset)
    reset.set_defaults(run=reset_password)


# Extension point: each adds one command group (a `card` group can be added here).
# ---- cards (卡介质) --------------------------------------------------------------------------------------------


async def register_card(directory: Administration, args: argparse.Namespace) -> str:
    """Binds a card's SM2 public key (as `card_agent new-card` prints it) to one user."""
    try:
        key = bytes.fromhex(args.public_key)
    except ValueError:
        key = b""
    if not sm2.valid_public_key(key):
        raise Refused("公钥不是有效的SM2公钥（04开头的130位十六进制）", "not an SM2 public key (04 + 128 hex digits)")
    user = await user_id(directory, args.username)
    try:
        await directory.add_card(args.card_no, user, key)
    except AlreadyExists:
        raise Refused(f"卡号已登记：{args.card_no}", f"card already registered: {args.card_no}") from None
    except Malformed:
        raise Refused(f"卡号格式有误：{args.card_no}", f"invalid card number: {args.card_no}") from None
    return f"已为用户 {args.username} 登记卡 {args.card_no} / card registered"


async def revoke_card(directory: Administration, args: argparse.Namespace) -> str:
    async with directory.transaction():  # revoked, and its holder's sessions ended (a lost card's session too)
        holder = await directory.revoke_card(args.card_no)
        if holder is None:
            raise Refused(f"卡不存在：{args.card_no}", f"no such card: {args.card_no}")
        ended = await directory.end_sessions(holder, "CARD_REVOKED")
    return f"已吊销卡 {args.card_no}，结束会话 {ended} 个 / card revoked, {ended} sessions ended"


def card_commands(groups: argparse._SubParsersAction) -> None:
    card = groups.add_parser("card", help="cards for card-medium login").add_subparsers(dest="command", required=True)
    register = card.add_parser("register", help="bind a card's SM2 public key to a user")
    register.add_argument("card_no")
    register.add_argument("--username", required=True)
    register.add_argument("--public-key", required=True, help="hex, as `card_agent new-card` prints it")
    register.set_defaults(run=register_card)
    revoke = card.add_parser("revoke", help="revoke a card: it can no longer log in")
    revoke.add_argument("card_no")
    revoke.set_defaults(run=revoke_card)


COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction], None]] = [enterprise_commands, user_commands, card_commands]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.identity.admin",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = top.add_subparsers(dest="group", required=True)
    for add in COMMAND_GROUPS:
        add(groups)
    return top


def operator() -> str:
    """Who ran the command, as the operating system knows them (for the audit trail)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


async def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("错误：需要 DATABASE_URL (error: DATABASE_URL is required: the identity database)", file=sys.stderr)
        return REFUSED
    run: Run = args.run
    conn = await asyncpg.connect(database_url)
    directory = PostgresDirectory(conn)
    try:
        async with directory.transaction():  # the act and its audit record stand or fall together
            done = await run(directory, args)
            await directory.audit(
                actor=f"admin:{operator()}",
                action=f"ADMIN_{args.group}_{args.command}".upper().replace("-", "_"),
                target=" ".join(
                    str(v) for v in (getattr(args, n, None) for n in ("card_no", "username", "credit_code")) if v
                ),
                client="",
            )
        # The command ends sessions outside the service: it waits until identity's relay has told the gateways.
        if not await directory.sessions_announced(wait_seconds=10.0):
            done += "（会话缓存将在数秒内失效 / gateways not told yet: is identity running? cached sessions end within seconds)"
        print(done)
    except Refused as refused:
        print(refused, file=sys.stderr)
        return REFUSED
    finally:
        await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
