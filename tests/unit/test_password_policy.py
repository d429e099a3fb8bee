"""The password policy (services/identity/passwords.py): every reason at once, common passwords, argon2id."""

from __future__ import annotations

import pytest

from services.identity import passwords
from services.identity.passwords import (
    HAS_WHITESPACE,
    SAME_AS_OLD,
    TOO_COMMON,
    TOO_FEW_CLASSES,
    TOO_LONG,
    TOO_SHORT,
    problems,
)


@pytest.mark.parametrize("good", ["Harbour#Line7", "Xk9#mPq2", "trade-route-77", "TRADE_ROUTE_77", "Brand#New2026"])
def test_accepted(good: str) -> None:
    assert problems(good) == []


def test_the_demo_passwords_stay_usable() -> None:
    assert problems("Demo@2026") == [] and problems("Officer@2026") == []


@pytest.mark.parametrize(
    ("password", "reasons"),
    [
        ("", [TOO_SHORT, TOO_FEW_CLASSES]),
        ("Ab1!", [TOO_SHORT]),
        ("abcdefgh", [TOO_FEW_CLASSES]),
        ("abcdefg1", [TOO_FEW_CLASSES]),
        ("abc", [TOO_SHORT, TOO_FEW_CLASSES, TOO_COMMON]),
        ("12345678", [TOO_FEW_CLASSES, TOO_COMMON]),
        ("Aa1!" * 40, [TOO_LONG]),
        ("Harbour Line7", [HAS_WHITESPACE]),
    ],
)
def test_every_reason_at_once(password: str, reasons: list[str]) -> None:
    assert problems(password) == reasons


@pytest.mark.parametrize(
    "common",
    ["Password123!", "Aa123456!", "P@ssw0rd", "p@ssw0rd2026!", "1qaz@WSX", "Qwerty123!", "Admin@123", "Woaini1314!"],
)
def test_common_passwords_are_refused(common: str) -> None:
    assert problems(common) == [TOO_COMMON]


def test_only_digits_and_symbols_count_as_common() -> None:
    assert passwords.is_common("2026!@#$1234")


def test_the_list_is_shipped_and_substantial() -> None:
    listed = passwords.common_passwords()
    assert len(listed) >= 1000
    assert {"123456", "password", "password123!", "aa123456!"} <= listed
    assert "demo@2026" not in listed


def test_same_as_old_only_when_the_old_one_is_known() -> None:
    assert problems("Harbour#Line7", old="Harbour#Line7") == [SAME_AS_OLD]
    assert problems("Harbour#Line7", old="Other#Line8") == []


def test_hashes_are_argon2id_and_verify() -> None:
    hashed = passwords.hasher.hash("Harbour#Line7")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "Harbour#Line7")
    assert not passwords.verify(hashed, "Harbour#Line8")
    assert not passwords.verify("not a hash", "Harbour#Line7")
