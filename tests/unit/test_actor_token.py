"""Signed actors: a signature verified once is remembered for exactly those bytes, never for altered ones, and
expiry is checked every time."""

from __future__ import annotations

import time

import msgspec
import pytest

from shared.actor_token import ActorSigner, ActorVerifier, generate_keypair
from shared.contracts.common import Actor
from shared.errors import Unauthenticated


@pytest.fixture
def keys() -> tuple[ActorSigner, ActorVerifier]:
    private, public = generate_keypair()
    return ActorSigner(private), ActorVerifier(public)


def actor() -> Actor:
    return Actor(
        user_id="u1", username="demo", display_name="张敏", role="ENTERPRISE", credit_code="91310115MA1K4B2X0T"
    )


def test_a_remembered_signature_does_not_cover_altered_content(keys) -> None:
    signer, verifier = keys
    signed = signer.sign(actor())
    verifier.verify(signed)
    verifier.verify(signed)  # remembered
    for altered in (
        msgspec.structs.replace(signed, credit_code="91110000100000000X"),
        msgspec.structs.replace(signed, role="OFFICER"),
        msgspec.structs.replace(signed, expires_at=signed.expires_at + 3600),
    ):
        with pytest.raises(Unauthenticated) as refused:
            verifier.verify(altered)
        assert refused.value.code == "ACTOR_INVALID"


def test_expiry_is_checked_even_for_a_remembered_signature(keys, monkeypatch) -> None:
    signer, verifier = keys
    signed = signer.sign(actor(), ttl=60)
    verifier.verify(signed)
    later = time.time() + 61
    monkeypatch.setattr("shared.actor_token.time.time", lambda: later)
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(signed)
    assert refused.value.code == "ACTOR_EXPIRED"


def test_another_key_is_refused(keys) -> None:
    signer, _ = keys
    _, other_public = generate_keypair()
    with pytest.raises(Unauthenticated):
        ActorVerifier(other_public).verify(signer.sign(actor()))
