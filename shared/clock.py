"""The clock business dates are read from, and the China calendar day those dates are counted in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """Test profile only: the instant written in `path` (ISO-8601 with an offset), else the system time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def now(self) -> datetime:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return datetime.now(UTC)
        pinned = datetime.fromisoformat(text)
        if pinned.tzinfo is None:
            raise ValueError(f"{self.path}: pinned instant {text!r} has no UTC offset")
        return pinned.astimezone(UTC)


def china_date(dt: datetime) -> date:
    """The calendar day in China of an aware instant."""
    return dt.astimezone(CHINA).date()


def china_day_start(day: date) -> datetime:
    """The instant a China calendar day begins (16:00 UTC the day before)."""
    return datetime.combine(day, time.min, CHINA)
