"""SM2 signatures over SM3 (GB/T 32918.2, GB/T 32905), as China E-port cards make them, through `gmalglib`.

Keys are raw bytes: a private key is the 32-byte big-endian d, a public key the 65-byte uncompressed point
04‖x‖y, a signature the 64 bytes r‖s. Signatures bind the signer's identity Z = SM3(ENTL‖ID‖a‖b‖G‖P) with the
standard default user id, as card readers' client controls do.
"""

from __future__ import annotations

from gmalglib.sm2 import SM2
from gmalglib.sm3 import SM3

DEFAULT_UID = b"1234567812345678"
PRIVATE_KEY_LENGTH = 32
PUBLIC_KEY_LENGTH = 65
SIGNATURE_LENGTH = 64


def sm3(data: bytes) -> bytes:
    h = SM3()
    h.update(data)
    return h.digest()


def valid_private_key(sk: bytes) -> bool:
    return len(sk) == PRIVATE_KEY_LENGTH and SM2.is_sk_valid(sk)


def valid_public_key(pk: bytes) -> bool:
    return len(pk) == PUBLIC_KEY_LENGTH and pk[0] == 4 and SM2.is_pk_valid(pk)


def generate_private_key() -> bytes:
    sk, _ = SM2().generate_keypair()
    return sk


def public_key(sk: bytes) -> bytes:
    return SM2.get_pk(sk)


def sign(sk: bytes, message: bytes, *, uid: bytes = DEFAULT_UID, k: bytes | None = None) -> bytes:
    """r‖s. `k` (32 bytes, big-endian) fixes the per-signature random for the standard's test vectors only."""
    if k is None:
        return SM2(sk=sk, uid=uid).sign(message)
    fixed = k[::-1]  # gmalglib reads its random bytes little-endian
    return SM2(sk=sk, uid=uid, rnd_fn=lambda _: fixed).sign(message)


def verify(pk: bytes, message: bytes, signature: bytes, *, uid: bytes = DEFAULT_UID) -> bool:
    """False for a wrong signature and for any malformed key or signature: never raises on input."""
    if not valid_public_key(pk) or len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        return SM2(pk=pk, uid=uid).verify(message, signature)
    except ValueError:
        return False


def private_key_from_seed(seed: bytes) -> bytes:
    """A deterministic private key (SM3 of the seed, rehashed until in range): demo and test cards only."""
    sk = sm3(seed)
    while not valid_private_key(sk):
        sk = sm3(sk)
    return sk
