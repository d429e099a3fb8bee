"""identity: card-medium login (卡介质登录) — a server nonce signed by the card's SM2 key."""

from __future__ import annotations

from shared.contracts.common import Contract

CARD_CHALLENGE = "svc.identity.card.challenge"
CARD_LOGIN = "svc.identity.card.login"


class CardChallengeRequest(Contract):
    card_no: str
    client_ip: str = ""


class CardChallenge(Contract):
    challenge_id: str
    nonce_hex: str  # what the card signs: these bytes (hex-decoded)
    expires_in_seconds: int


class CardLoginCommand(Contract):
    card_no: str
    challenge_id: str
    signature_hex: str  # SM2 r‖s over the nonce's bytes, SM3 with the default user id 1234567812345678
    client_ip: str = ""
