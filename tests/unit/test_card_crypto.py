"""SM2/SM3 (GB/T 32918, GB/T 32905) through gmalglib, and the card agent's PIN-sealed key files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.identity import sm2
from services.identity.card_agent import keyfile
from services.identity.card_agent.agent import Agent
from shared import demo

ROOT = Path(__file__).resolve().parents[2]

# GB/T 32905-2016 Appendix A: SM3("abc") and SM3 of "abcd" × 16.
SM3_VECTORS = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}

# The signature example on the recommended curve (GM/T 0003.5-2012 / GB/T 32918.5-2017): message "message digest",
# user id 1234567812345678, fixed k.
D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
PK = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
K = bytes.fromhex("59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21")
SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
MESSAGE = b"message digest"


@pytest.mark.parametrize(("data", "digest"), SM3_VECTORS.items())
def test_sm3_vectors(data: bytes, digest: str) -> None:
    assert sm2.sm3(data).hex() == digest


def test_sm2_standard_signature_vector() -> None:
    assert sm2.public_key(D) == PK
    assert sm2.verify(PK, MESSAGE, SIGNATURE)
    assert sm2.sign(D, MESSAGE, k=K) == SIGNATURE  # the same r‖s with the standard's k
    assert not sm2.verify(PK, MESSAGE + b"!", SIGNATURE)
    assert not sm2.verify(PK, MESSAGE, SIGNATURE, uid=b"ALICE123@YAHOO.COM")  # Z binds the user id


def test_sm2_round_trip_and_refusals() -> None:
    sk = sm2.generate_private_key()
    pk = sm2.public_key(sk)
    signature = sm2.sign(sk, b"nonce")
    assert len(signature) == 64 and sm2.verify(pk, b"nonce", signature)
    assert sm2.sign(sk, b"nonce") != signature  # a fresh k every time
    other = sm2.public_key(sm2.generate_private_key())
    assert not sm2.verify(other, b"nonce", signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not sm2.verify(pk, b"nonce", flipped)
    # Malformed input is a refusal, never an exception: r = 0, r = s = n, short, not a point.
    n = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
    for bad in (bytes(64), n.to_bytes(32, "big") * 2, signature[:63]):
        assert not sm2.verify(pk, b"nonce", bad)
    assert not sm2.verify(b"\x04" + bytes(64), b"nonce", signature)
    assert not sm2.verify(pk[:33], b"nonce", signature)


def test_demo_key_is_deterministic() -> None:
    card = demo.CARDS[0]
    assert sm2.private_key_from_seed(card.key_seed) == sm2.private_key_from_seed(card.key_seed)
    assert sm2.valid_private_key(sm2.private_key_from_seed(card.key_seed))


def test_key_file_never_holds_the_key_in_plain_text(tmp_path: Path) -> None:
    sk = sm2.generate_private_key()
    path = tmp_path / "c.card.json"
    keyfile.write_card(path, keyfile.seal("8800000000042", sk, "246810"))
    raw = path.read_bytes()
    assert sk not in raw and sk.hex().encode() not in raw and sk.hex().upper().encode() not in raw
    assert path.stat().st_mode & 0o077 == 0  # the owner's only
    card = keyfile.read_card(path)
    assert card["publicKey"] == sm2.public_key(sk).hex()
    assert keyfile.unseal(card, "246810") == sk
    signature = bytes.fromhex(keyfile.sign_challenge(card, "246810", "a1" * 32))
    assert sm2.verify(sm2.public_key(sk), bytes.fromhex("a1" * 32), signature)


def test_wrong_pin_fails_and_a_doctored_file_does_not_sign(tmp_path: Path) -> None:
    card = keyfile.seal("8800000000042", sm2.generate_private_key(), "246810")
    with pytest.raises(keyfile.CardError) as wrong:
        keyfile.unseal(card, "246811")
    assert wrong.value.code == "PIN_WRONG"
    # Another card number or public key in the file: the associated data no longer matches.
    other = {**card, "cardNo": "8800000000043"}
    with pytest.raises(keyfile.CardError):
        keyfile.unseal(other, "246810")


def test_agent_counts_wrong_pins_and_locks_the_card(tmp_path: Path) -> None:
    keyfile.write_card(
        tmp_path / "8800000000042.card.json", keyfile.seal("8800000000042", sm2.generate_private_key(), "1")
    )
    agent = Agent(tmp_path, frozenset())
    for left in (4, 3, 2, 1):
        with pytest.raises(keyfile.CardError, match=f"还可尝试{left}次"):
            agent.sign("8800000000042", "2", "00")
    assert agent.sign("8800000000042", "1", "00")  # a right PIN resets the count
    for _ in range(5):
        with pytest.raises(keyfile.CardError):
            agent.sign("8800000000042", "2", "00")
    with pytest.raises(keyfile.CardError) as locked:
        agent.sign("8800000000042", "1", "00")
    assert locked.value.code == "CARD_LOCKED"
    with pytest.raises(keyfile.CardError) as missing:
        agent.sign("../etc/passwd", "1", "00")
    assert missing.value.code == "CARD_NOT_FOUND"


def test_command_line_new_card_and_sign(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.identity.card_agent", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    path = tmp_path / "card.json"
    created = run("new-card", "--card", str(path), "--card-no", "8800000000077", "--pin", "7777")
    assert created.returncode == 0, created.stderr
    pk = bytes.fromhex(created.stdout.strip())
    assert json.loads(path.read_text())["publicKey"] == pk.hex()
    signed = run("sign", "--card", str(path), "--pin", "7777", "--challenge", "beef" * 16)
    assert signed.returncode == 0, signed.stderr
    assert sm2.verify(pk, bytes.fromhex("beef" * 16), bytes.fromhex(signed.stdout.strip()))
    wrong = run("sign", "--card", str(path), "--pin", "7778", "--challenge", "beef" * 16)
    assert wrong.returncode != 0 and "PIN_WRONG" in wrong.stderr and not wrong.stdout
