"""The China calendar day turns at 16:00 UTC; a pinned clock is for the test profile only."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.coordination_request.service import definition
from shared.clock import FileClock, china_date, china_day_start
from shared.runtime import _main
from shared.settings import SettingsError


def test_the_china_day_turns_at_16_utc() -> None:
    assert china_date(datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 10)
    assert china_date(datetime(2026, 3, 10, 16, 0, 0, tzinfo=UTC)) == date(2026, 3, 11)
    assert china_day_start(date(2026, 3, 11)) == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def test_file_clock_reads_the_pinned_instant_else_runs(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = FileClock(path)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5  # no file: the system time
    path.write_text("2026-03-10T23:59:30+08:00\n")
    assert clock.now() == datetime(2026, 3, 10, 15, 59, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    path.write_text("")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_a_service_refuses_a_clock_file_outside_the_test_profile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, value in {
        "PROFILE": "production",
        "NATS_URL": "nats://x:4222",
        "DATABASE_URL": "postgresql://x/y",
        "CLOCK_FILE": str(tmp_path / "clock"),
        "SEED_DEMO_DATA": "false",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError):
        asyncio.run(_main(definition))
    assert "CLOCK_FILE may only be set in the test profile" in capsys.readouterr().err
