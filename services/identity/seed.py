"""Demo enterprises and users (dev and test profiles only); idempotent."""

from __future__ import annotations

from argon2 import PasswordHasher

from services.identity import sm2
from services.identity.repository import PostgresStore
from shared import demo
from shared.runtime import Context


async def seed(ctx: Context) -> None:
    hasher = PasswordHasher()
    async with PostgresStore(ctx.pool).transaction() as directory:
        for e in demo.ENTERPRISES:
            await directory.add_enterprise(e.credit_code, e.name, e.customs_code)
        for u in demo.USERS:
            if await directory.user_id(u.username) is not None:
                continue
            enterprise_id = await directory.enterprise_id(u.credit_code) if u.credit_code else None
            await directory.add_user(
                u.username, u.display_name, hasher.hash(u.password), u.role, enterprise_id, password_set_now=False
            )
        # Demo cards (卡介质): public keys of the deterministic demo keys (card_agent demo-card writes the key file).
        for card in demo.CARDS:
            await directory.add_demo_card(
                card.card_no, sm2.public_key(sm2.private_key_from_seed(card.key_seed)), card.username
            )
