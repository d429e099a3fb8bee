"""The password policy and the one argon2id hasher every identity path uses (login, change, admin command, seed).

A password is accepted when it has at least MIN_LENGTH characters (at most MAX_LENGTH), at least three of the four
classes (upper case, lower case, digits, symbols), differs from the old one and is not a common password. A common
password is one in common_passwords.txt (compared case-insensitively), or one of its words with digits and symbols
around it and the usual letter swaps (`P@ssw0rd2026!` is `password`). `problems()` names every reason at once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 128  # argon2 would take more; a bound keeps one request's work bounded
MIN_CLASSES = 3
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

TOO_SHORT = f"密码长度不能少于{MIN_LENGTH}位"
TOO_LONG = f"密码长度不能超过{MAX_LENGTH}位"
TOO_FEW_CLASSES = "密码须包含大写字母、小写字母、数字、符号中的至少三类"
SAME_AS_OLD = "新密码不能与原密码相同"
TOO_COMMON = "密码过于常见，容易被猜中，请换一个"
HAS_WHITESPACE = "密码不能包含空格或控制字符"

hasher = PasswordHasher()  # argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "$": "s", "5": "s", "3": "e", "1": "i", "!": "i", "7": "t"})


def verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def classes(password: str) -> int:
    upper = any(ch.isupper() for ch in password)
    lower = any(ch.islower() for ch in password)
    digit = any(ch.isdigit() for ch in password)
    symbol = any(not ch.isalnum() for ch in password)
    return upper + lower + digit + symbol


def is_common(password: str) -> bool:
    common = common_passwords()
    folded = unicodedata.normalize("NFKC", password).casefold()
    if folded in common:
        return True
    word = _EDGES.sub("", folded)  # digits and symbols before and after the word
    if not word:
        return True  # nothing but digits and symbols
    candidates = {word, word.translate(_LEET), word.replace("1", "l").translate(_LEET)}
    return any(candidate in common for candidate in candidates)


def problems(new: str, old: str | None = None) -> list[str]:
    """Every reason the policy refuses `new` (empty when it is accepted), in a fixed order, in Chinese."""
    found: list[str] = []
    if len(new) < MIN_LENGTH:
        found.append(TOO_SHORT)
    if len(new) > MAX_LENGTH:
        found.append(TOO_LONG)
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in new):
        found.append(HAS_WHITESPACE)
    if classes(new) < MIN_CLASSES:
        found.append(TOO_FEW_CLASSES)
    if old is not None and new == old:
        found.append(SAME_AS_OLD)
    elif new and is_common(new):
        found.append(TOO_COMMON)
    return found
