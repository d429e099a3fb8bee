"""A card's key file: its SM2 private key sealed under the PIN, and the one signature the key is unsealed for."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from services.identity import sm2
from shared import demo

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_CHALLENGE_BYTES = 256
FORMAT = "xianghui-card-v1"


class CardError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _kek(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(pin.encode())


def _aad(card_no: str, public_key: bytes) -> bytes:
    return f"{FORMAT}|{card_no}|".encode() + public_key


def seal(card_no: str, private_key: bytes, pin: str) -> dict[str, Any]:
    """The key file's content: the private key encrypted under the PIN."""
    if not sm2.valid_private_key(private_key):
        raise ValueError("not an SM2 private key")
    if not pin:
        raise ValueError("the PIN must not be empty")
    public_key = sm2.public_key(private_key)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_kek(pin, salt)).encrypt(nonce, private_key, _aad(card_no, public_key))
    return {
        "format": FORMAT,
        "cardNo": card_no,
        "publicKey": public_key.hex(),
        "kdf": {"name": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "cipher": {"name": "AES-256-GCM", "nonce": nonce.hex()},
        "encryptedKey": sealed.hex(),
    }


def unseal(card: dict[str, Any], pin: str) -> bytes:
    """The private key, or CardError PIN_WRONG."""
    kdf, public_key = card["kdf"], bytes.fromhex(card["publicKey"])
    kek = _kek(pin, bytes.fromhex(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
    try:
        key = AESGCM(kek).decrypt(
            bytes.fromhex(card["cipher"]["nonce"]),
            bytes.fromhex(card["encryptedKey"]),
            _aad(card["cardNo"], public_key),
        )
    except InvalidTag:
        raise CardError(403, "PIN_WRONG", "PIN码错误") from None
    return key


def write_card(path: Path, card: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(card, out, indent=2)
    tmp.replace(path)


def read_card(path: Path) -> dict[str, Any]:
    card = json.loads(path.read_text())
    if card.get("format") != FORMAT:
        raise ValueError(f"{path}: not a card key file")
    return card


def sign_challenge(card: dict[str, Any], pin: str, challenge_hex: str) -> str:
    try:
        challenge = bytes.fromhex(challenge_hex.strip())
    except ValueError:
        raise CardError(400, "CHALLENGE_INVALID", "挑战码格式不正确") from None
    if not 0 < len(challenge) <= MAX_CHALLENGE_BYTES:
        raise CardError(400, "CHALLENGE_INVALID", "挑战码格式不正确")
    return sm2.sign(unseal(card, pin), challenge).hex()


def demo_card_path(cards_dir: Path, card: demo.DemoCard = demo.CARDS[0]) -> Path:
    """Writes the demo card's key file (if missing) and returns its path."""
    path = cards_dir / f"{card.card_no}.card.json"
    if not path.exists():
        write_card(path, seal(card.card_no, sm2.private_key_from_seed(card.key_seed), card.pin))
    return path
