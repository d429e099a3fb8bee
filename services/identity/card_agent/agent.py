"""The cards in a directory and their wrong-PIN counts: five wrong PINs in a row lock a card until a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from services.identity.card_agent.keyfile import CardError, read_card, sign_challenge

MAX_PIN_TRIES = 5
MAX_CARD_NO_LENGTH = 32


def _not_found() -> CardError:
    return CardError(404, "CARD_NOT_FOUND", "未检测到该卡号的卡介质，请确认卡已插入")


class Agent:
    """The cards in a directory, and their wrong-PIN counts (in memory)."""

    def __init__(self, cards_dir: Path, origins: frozenset[str]) -> None:
        self.cards_dir = cards_dir
        self.origins = origins
        self._wrong: dict[str, int] = {}
        self._lock = threading.Lock()

    def sign(self, card_no: str, pin: str, challenge: str) -> str:
        path = self._card_file(card_no)
        tries = self._count_try(card_no)
        try:
            signature = sign_challenge(read_card(path), pin, challenge)
        except CardError as error:
            if error.code == "PIN_WRONG":
                left = MAX_PIN_TRIES - tries
                raise CardError(
                    403, "PIN_WRONG", f"PIN码错误，还可尝试{left}次" if left else "PIN码错误，卡已锁定"
                ) from None
            with self._lock:  # not a PIN failure: the try does not count
                self._wrong[card_no] = max(self._wrong.get(card_no, 1) - 1, 0)
            raise
        with self._lock:
            self._wrong.pop(card_no, None)
        return signature

    def _card_file(self, card_no: str) -> Path:
        # Only a plain card number names a file: nothing of the request reaches a path outside the directory.
        if not card_no or not card_no.replace("-", "").isalnum() or len(card_no) > MAX_CARD_NO_LENGTH:
            raise _not_found()
        path = self.cards_dir / f"{card_no}.card.json"
        if not path.is_file():
            raise _not_found()
        return path

    def _count_try(self, card_no: str) -> int:
        """The try is counted before the PIN is checked, under the lock: parallel requests cannot get more guesses."""
        with self._lock:
            tries = self._wrong.get(card_no, 0)
            if tries >= MAX_PIN_TRIES:
                raise CardError(423, "CARD_LOCKED", "PIN码错误次数过多，卡已锁定")
            self._wrong[card_no] = tries = tries + 1
        return tries
