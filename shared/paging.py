"""Keyset pagination cursors: an opaque token for the (timestamp, id) of the last row of a page."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from shared.contracts.common import FieldError
from shared.errors import ValidationFailed

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = datetime.fromisoformat(text)
        # Only what encode_cursor writes: an aware instant of a row, never the ends of the calendar.
        if at.tzinfo is None or not EARLIEST <= at <= LATEST:
            raise ValueError(text)
        return at, uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("分页参数有误", fields=[FieldError(field="cursor", message="分页参数有误")]) from None
