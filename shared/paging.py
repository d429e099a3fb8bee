"""Keyset pagination cursors: an opaque token for the (timestamp, id) of the last row of a page."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from shared.contracts.common import FieldError
from shared.errors import ValidationFailed


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("分页参数有误", fields=[FieldError(field="cursor", message="分页参数有误")]) from None
