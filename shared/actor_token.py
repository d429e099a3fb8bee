"""Signed actors: identity signs who is acting (Ed25519, short-lived); every service verifies the signature
before it trusts the tenant in a request, so nothing else on NATS can act as another enterprise."""

from __future__ import annotations

import base64
import time

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shared.contracts.common import Actor
from shared.errors import Unauthenticated

TTL_SECONDS = 300


def _unsigned(actor: Actor) -> bytes:
    return msgspec.json.encode(msgspec.structs.replace(actor, signature=""))


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64 of the raw 32-byte keys: for ACTOR_SIGNING_KEY and ACTOR_VERIFY_KEY."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


class ActorSigner:
    def __init__(self, private_key_b64: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))

    def sign(self, actor: Actor, ttl: int = TTL_SECONDS) -> Actor:
        stamped = msgspec.structs.replace(actor, expires_at=int(time.time()) + ttl, signature="")
        return msgspec.structs.replace(stamped, signature=base64.b64encode(self._key.sign(_unsigned(stamped))).decode())


class ActorVerifier:
    """Checks an actor's signature and expiry. Identity reuses a signed actor for minutes, so a signature already
    verified for exactly these bytes is remembered (bounded) and not verified again; expiry is checked each time."""

    MAX_REMEMBERED = 10_000

    def __init__(self, public_key_b64: str) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        self._verified: set[tuple[str, bytes]] = set()

    def verify(self, actor: Actor) -> None:
        if actor.expires_at < time.time():
            raise Unauthenticated("登录已失效，请重新登录", code="ACTOR_EXPIRED")
        signed = (actor.signature, _unsigned(actor))
        if signed in self._verified:
            return
        try:
            self._key.verify(base64.b64decode(actor.signature), signed[1])
        except (InvalidSignature, ValueError):
            raise Unauthenticated("身份验证失败", code="ACTOR_INVALID") from None
        if len(self._verified) >= self.MAX_REMEMBERED:
            self._verified.clear()
        self._verified.add(signed)


def valid_public_key(value: str) -> bool:
    try:
        ActorVerifier(value)
    except ValueError:
        return False
    return True


def valid_private_key(value: str) -> bool:
    try:
        ActorSigner(value)
    except ValueError:
        return False
    return True
