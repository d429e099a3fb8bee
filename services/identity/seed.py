"""Demo enterprises and users (dev and test profiles only); idempotent."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher

from services.identity import sm2
from shared import demo
from shared.runtime import Context


async def seed(ctx: Context) -> None:
    hasher = PasswordHasher()
    async with ctx.pool.acquire() as conn, conn.transaction():
        for e in demo.ENTERPRISES:
            await conn.execute(
                "INSERT INTO enterprises (id, credit_code, name, customs_code) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (credit_code) DO NOTHING",
                uuid.uuid4(),
                e.credit_code,
                e.name,
                e.customs_code,
            )
        for u in demo.USERS:
            exists = await conn.fetchval("SELECT true FROM users WHERE username = $1", u.username)
            if exists:
                continue
            enterprise_id = (
                await conn.fetchval("SELECT id FROM enterprises WHERE credit_code = $1", u.credit_code)
                if u.credit_code
                else None
            )
            await conn.execute(
                "INSERT INTO users (id, username, display_name, password_hash, role, enterprise_id)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                uuid.uuid4(),
                u.username,
                u.display_name,
                hasher.hash(u.password),
                u.role,
                enterprise_id,
            )
        # Demo cards (卡介质): public keys of the deterministic demo keys (card_agent demo-card writes the key file).
        for card in demo.CARDS:
            await conn.execute(
                "INSERT INTO cards (card_no, user_id, public_key) SELECT $1, id, $2 FROM users WHERE username = $3"
                " ON CONFLICT (card_no) DO NOTHING",
                card.card_no,
                sm2.public_key(sm2.private_key_from_seed(card.key_seed)),
                card.username,
            )
