"""Filtered queries and keyset pages: WHERE clauses with numbered parameters, and an opaque cursor for the
(timestamp, id) of the last row of a page."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

import asyncpg

from shared.clock import china_day_start
from shared.contracts.common import FieldError
from shared.errors import ValidationFailed

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
# Matching rows are counted on the first page only, and up to this many; beyond it the total reads "1000+"
# (total_capped). An exact count of a million rows costs a scan of them all; nobody pages through a thousand.
COUNT_CAP = 1_000
T = TypeVar("T")


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


# The filters of RequestFilters that match their column exactly (the names are the columns' names too).
EQUAL_FILTERS = ("request_no", "certificate_no", "export_declaration_no", "status", "proof_type", "agreement_code")


@dataclass
class Filters:
    """The conditions of a WHERE clause and their arguments, numbered as they are added."""

    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, value: Any) -> None:
        """`clause` with each `?` standing for `value`."""
        self.args.append(value)
        self.clauses.append(clause.replace("?", f"${len(self.args)}"))

    def china_days(self, column: str, first: date | None, last: date | None) -> None:
        """`column` within the China calendar days from `first` to `last`, both included (either may be open)."""
        if first:
            self.add(f"{column} >= ?", china_day_start(first))
        if last:
            self.add(f"{column} < ?", china_day_start(last + timedelta(days=1)))

    def request_filters(self, q: Any) -> None:
        """The query filters of SPEC §4 (a `RequestFilters`), on a table with the form's columns and `submitted_at`:
        查询 and the officers' queue filter alike."""
        for column in EQUAL_FILTERS:
            if value := getattr(q, column):
                self.add(f"{column} = ?", value.strip())
        self.china_days("submitted_at", q.submitted_from, q.submitted_to)

    @property
    def where(self) -> str:
        return " AND ".join(self.clauses) or "true"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None  # None on later pages: counted on the first page only
    next_cursor: str | None
    total_capped: bool = False  # there are more than `total` (COUNT_CAP) matching rows


async def keyset_page(
    conn: asyncpg.Connection,
    table: str,
    columns: str,
    filters: Filters,
    *,
    order: tuple[str, str],
    descending: bool,
    cursor: str | None,
    limit: int,
) -> Page[asyncpg.Record]:
    """One page of the rows matching `filters`, in `order` (a timestamp column, then an id column), starting
    after the row the cursor names, and the cursor of the next page; the first page (no cursor) also counts the
    matching rows, up to COUNT_CAP."""
    limit = min(max(limit, 1), MAX_LIMIT)
    at_column, id_column = order
    where, args = filters.where, list(filters.args)
    if cursor:
        at, row_id = decode_cursor(cursor)
        args += [at, row_id]
        where += f" AND ({at_column}, {id_column}) {'<' if descending else '>'} (${len(args) - 1}, ${len(args)})"
    direction = " DESC" if descending else ""
    rows = await conn.fetch(
        f"SELECT {columns} FROM {table} WHERE {where}"
        f" ORDER BY {at_column}{direction}, {id_column}{direction} LIMIT {limit + 1}",
        *args,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][at_column], rows[-1][id_column]) if more else None
    if cursor:
        return Page(rows, None, next_cursor)
    total = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {filters.where} LIMIT {COUNT_CAP + 1}) matching",
        *filters.args,
    )
    return Page(rows, min(total, COUNT_CAP), next_cursor, total_capped=total > COUNT_CAP)
