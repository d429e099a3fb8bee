"""Card-medium login (卡介质登录, SPEC §1 and §7): the server issues a single-use nonce for a card, the card signs it
with its SM2 key (SM3, default user id) after its PIN, and a valid signature opens the same session a password
login does.

Failures count toward the same lockout as wrong passwords, against the card's user's name (an unknown card
number is counted under its own key), before the signature is checked: 5 wrong tries lock the user for 15
minutes whichever way they log in. A challenge is spent by the first try that names it, right or wrong.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

from services.identity import sm2
from services.identity.login import AccountDisabled, AccountLocked, Sessions, count_attempt, name_key
from services.identity.repository import Card, Directory, Store
from services.identity.throttle import SlidingWindowLimit
from shared import audit
from shared.bus import Endpoint
from shared.contracts import card as c
from shared.contracts import identity
from shared.contracts.common import FieldError
from shared.errors import ServiceError, TooManyRequests, ValidationFailed

CHALLENGE_TTL = timedelta(minutes=2)
NONCE_BYTES = 32  # 256 bits
CARD_NO = re.compile(r"^[0-9A-Za-z-]{4,32}$")
# A challenge costs one row (no image, unlike a captcha): its own limit per client address and in all, per replica.
CHALLENGES_PER_ADDRESS = 60
CHALLENGES_OVERALL = 600
CHALLENGE_WINDOW_SECONDS = 10


class ChallengeInvalid(ServiceError):
    status, code, message = 401, "CARD_CHALLENGE_INVALID", "挑战码无效或已使用，请重新登录"


class ChallengeExpired(ServiceError):
    status, code, message = 401, "CARD_CHALLENGE_EXPIRED", "挑战码已过期，请重新登录"


class SignatureInvalid(ServiceError):
    status, code, message = 401, "CARD_SIGNATURE_INVALID", "卡介质签名验证失败，请确认插入的是本人的卡"


def _card_no(value: str) -> str:
    card_no = value.strip()
    if not CARD_NO.match(card_no):
        raise ValidationFailed(fields=[FieldError(field="cardNo", message="卡号格式不正确")])
    return card_no


def _signature(value: str) -> bytes | None:
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        return None
    return raw if len(raw) == sm2.SIGNATURE_LENGTH else None


class CardLogin:
    def __init__(self, store: Store, sessions: Sessions) -> None:
        self.store = store
        self.sessions = sessions
        self.limit = SlidingWindowLimit(CHALLENGES_PER_ADDRESS, CHALLENGES_OVERALL, CHALLENGE_WINDOW_SECONDS)

    async def challenge(self, cmd: c.CardChallengeRequest) -> c.CardChallenge:
        card_no = _card_no(cmd.card_no)
        # Throttled like captchas. Any well-formed number gets a challenge, so the answer never tells which cards exist.
        wait = self.limit.take(cmd.client_ip)
        if wait:
            raise TooManyRequests(retry_after=wait)
        challenge_id, nonce = uuid.uuid4(), secrets.token_bytes(NONCE_BYTES)
        async with self.store.reading() as directory:
            await directory.add_challenge(challenge_id, card_no, nonce, CHALLENGE_TTL)
        return c.CardChallenge(
            challenge_id=str(challenge_id),
            nonce_hex=nonce.hex(),
            expires_in_seconds=int(CHALLENGE_TTL.total_seconds()),
        )

    async def login(self, cmd: c.CardLoginCommand) -> identity.Session:
        card_no = _card_no(cmd.card_no)
        async with self.store.reading() as directory:
            card = await directory.card(card_no)
            key = name_key(card.username) if card else name_key("card:" + card_no)
            cid = _challenge_id(cmd.challenge_id)
            # Only a try on a challenge issued for this very card counts toward its holder's lockout: a made-up
            # challenge id costs nothing, so counting it would let anyone who knows a card number lock its holder
            # out. A real challenge costs a (throttled) request.
            issued = await directory.challenged_card(cid) if cid else None
            if issued != card_no:
                await _audit(directory, cmd, card, "CARD_CHALLENGE_INVALID")
                raise ChallengeInvalid()
            if not await count_attempt(directory, key):
                await _audit(directory, cmd, card, "LOCKED")
                raise AccountLocked()
            spent = await directory.spend_challenge(cid)
            if spent is None:  # replayed
                await _audit(directory, cmd, card, "CARD_CHALLENGE_INVALID")
                raise ChallengeInvalid()
            if not spent.live:
                await _audit(directory, cmd, card, "CARD_CHALLENGE_EXPIRED")
                raise ChallengeExpired()
            signature = _signature(cmd.signature_hex)
            if (
                card is None
                or spent.card_no != card_no
                or signature is None
                or not sm2.verify(card.public_key, spent.nonce, signature)
            ):
                await _audit(directory, cmd, card, "CARD_SIGNATURE_INVALID")
                raise SignatureInvalid()
            if card.disabled:  # told only to whoever holds the card and its PIN, as the password login does
                await _audit(directory, cmd, card, "DISABLED")
                raise AccountDisabled()
            return await self.sessions.open(
                directory, card.user_id, key, lambda: _audit(directory, cmd, card, "CARD_SUCCESS")
            )


def _challenge_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _audit(directory: Directory, cmd: c.CardLoginCommand, card: Card | None, outcome: str) -> None:
    # The audit trail (shared/audit.py), as the password login records its tries.
    who = card.username if card else ("card:" + cmd.card_no)[:200]
    await directory.record_login(
        who=who,
        user_id=card.user_id if card else None,
        outcome=outcome,
        action="CARD_LOGIN",
        result=audit.SUCCESS if outcome == "CARD_SUCCESS" else outcome,
        target=cmd.card_no[:64],
        client=cmd.client_ip[:64],
    )


def endpoints(store: Store, sessions: Sessions) -> list[Endpoint]:
    cards = CardLogin(store, sessions)
    return [
        Endpoint(c.CARD_CHALLENGE, c.CardChallengeRequest, cards.challenge),
        Endpoint(c.CARD_LOGIN, c.CardLoginCommand, cards.login),
    ]
