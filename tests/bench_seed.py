"""Data for `make bench`, loaded straight into the services' databases with COPY (a benchmark's shortcut, never
the services' own path): certificate/export-declaration pairs of the demo enterprise in the registry, a million
applications for 查询, and a scratch database with coordination-request's schema for the raw transaction limit.
Also the files uploaded: valid PDFs of a given size, wrapped in a multipart body."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

from services.coordination_request.repository import COLUMNS
from shared import db, demo
from shared.formats import PROOF_KINDS
from shared.paging import COUNT_CAP, encode_cursor
from shared.workflow import Status
from tests.support import form

ENTERPRISE = demo.HUAMAO
COORDINATION_MIGRATIONS = Path(db.__file__).resolve().parent.parent / "services" / "coordination_request" / "migrations"
STATUSES = tuple(s.value for s in Status)
PROOF_TYPES = tuple(PROOF_KINDS)
# The columns every bulk-loaded application fills, in the order its records list them.
APPLICATION_COLUMNS = (
    "id",
    "request_no",
    "credit_code",
    "enterprise_name",
    "proof_type",
    "import_country",
    "import_port",
    "certificate_no",
    "agreement_code",
    "export_declaration_no",
    "import_declaration_no",
    "reason",
    "status",
)
# 查询 filters on a combination the bench's own 暂存 and 提交 never produce, so its count stays what was loaded.
QUERY_STATUS, QUERY_PROOF_TYPE = "CONCLUDED", "CCPIT_CO"
REASON = form()["reason"]


def run_tag() -> str:
    """Four hex digits that keep this run's certificate and request numbers apart from any earlier run's."""
    return secrets.token_hex(2).upper()


# --- certificate registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    certificate_no: str
    export_declaration_no: str


async def seed_registry(dsn: str, count: int, tag: str) -> list[Pair]:
    """`count` CUSTOMS_CO certificates (RCEP, to Japan) held by the demo enterprise, each linked to its own export
    declaration: every draft gets a pair of its own, so customs never refuses one as a duplicate."""
    base = secrets.randbelow(10**9 - count)
    pairs = [
        Pair(f"KB{tag}{i:08d}", "310120260" + f"{(base + i) % 10**9:09d}")  # 18 digits, the 9th is 0
        for i in range(count)
    ]
    today = date.today()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "certificates",
                columns=(
                    "proof_type",
                    "certificate_no",
                    "holder_credit_code",
                    "holder_name",
                    "agreement_code",
                    "import_country",
                    "issue_date",
                    "valid_until",
                ),
                records=[
                    ("CUSTOMS_CO", p.certificate_no, ENTERPRISE.credit_code, ENTERPRISE.name, "22", "JP", today, None)
                    for p in pairs
                ],
            )
            await conn.copy_records_to_table(
                "export_declaration_links",
                columns=("proof_type", "certificate_no", "export_declaration_no", "credit_code", "source"),
                records=[
                    (
                        "CUSTOMS_CO",
                        p.certificate_no,
                        p.export_declaration_no,
                        ENTERPRISE.credit_code,
                        "DECLARATION_SYSTEM",
                    )
                    for p in pairs
                ],
            )
        await conn.execute("ANALYZE certificates; ANALYZE export_declaration_links")
    finally:
        await conn.close()
    return pairs


def draft_body(pair: Pair) -> bytes:
    import json

    return json.dumps(
        form(certificateNo=pair.certificate_no, exportDeclarationNo=pair.export_declaration_no), ensure_ascii=False
    ).encode()


# --- a million applications for 查询 -----------------------------------------------------------------------


@dataclass(frozen=True)
class QuerySet:
    rows: int
    matching: int  # rows with QUERY_STATUS and QUERY_PROOF_TYPE
    total: int  # what the endpoint answers as total: the matching rows, counted up to COUNT_CAP
    last_page: int  # rows on the last page
    cursor: str  # the keyset cursor that opens the last page
    limit: int
    # What the list endpoint runs, for the raw limits: the page and the count, with their arguments.
    page_sql: str
    page_args: tuple
    count_sql: str
    count_args: tuple


def _row_id(high: int, i: int) -> uuid.UUID:
    return uuid.UUID(int=(high << 64) | i)


async def seed_applications(dsn: str, rows: int, tag: str, limit: int = 20, chunk: int = 100_000) -> QuerySet:
    """`rows` applications of the demo enterprise, one every 30 s over the past year and more; statuses and proof
    types cycle so that one combination in 32 matches the filter. The rows are known, so the cursor of the last page
    is computed, not paged to."""
    high = secrets.randbits(63)
    t0 = datetime.now(UTC) - timedelta(seconds=30 * rows + 86_400)

    def created(i: int) -> datetime:
        return t0 + timedelta(seconds=30 * i)

    def record(i: int) -> tuple:
        status, proof_type = STATUSES[i % len(STATUSES)], PROOF_TYPES[(i // len(STATUSES)) % len(PROOF_TYPES)]
        at = created(i)
        return (
            _row_id(high, i),
            f"XB{tag}{i:08d}",
            ENTERPRISE.credit_code,
            ENTERPRISE.name,
            proof_type,
            "JP",
            "JPTYO",
            "K2631000000001",
            "22",
            "310120260000123456",
            "JP-IMP-2026-0001",
            REASON,
            status,
            2 if status != "DRAFT" else 1,
            "bench",
            at,
            at,
            None if status == "DRAFT" else at,
        )

    columns = (
        *APPLICATION_COLUMNS,
        "version",
        "created_by",
        "created_at",
        "updated_at",
        "submitted_at",
    )
    conn = await asyncpg.connect(dsn)
    try:
        for first in range(0, rows, chunk):
            await conn.copy_records_to_table(
                "coordination_requests",
                columns=columns,
                records=[record(i) for i in range(first, min(rows, first + chunk))],
            )
        # What autovacuum would have done by the time a tenant has a million rows: statistics, visibility map.
        await conn.execute("VACUUM (ANALYZE) coordination_requests")
    finally:
        await conn.close()

    wanted = STATUSES.index(QUERY_STATUS) + len(STATUSES) * PROOF_TYPES.index(QUERY_PROOF_TYPE)
    matching_ids = [i for i in range(rows) if i % 32 == wanted]  # ascending = oldest first
    last_page = len(matching_ids) % limit or limit
    # Newest first: the last page holds the `last_page` oldest matches; the cursor is the match just before them.
    before = matching_ids[last_page]
    cursor = encode_cursor(created(before), _row_id(high, before))
    # As the repository builds them (shared.paging.keyset_page): the page after the cursor, and the capped count.
    filters = "deleted_at IS NULL AND credit_code = $1 AND status = $2 AND proof_type = $3"
    return QuerySet(
        rows=rows,
        matching=len(matching_ids),
        total=min(len(matching_ids), COUNT_CAP),
        last_page=last_page,
        cursor=cursor,
        limit=limit,
        page_sql=f"SELECT {COLUMNS} FROM coordination_requests WHERE {filters} AND (created_at, id) < ($4, $5)"
        f" ORDER BY created_at DESC, id DESC LIMIT {limit + 1}",
        page_args=(ENTERPRISE.credit_code, QUERY_STATUS, QUERY_PROOF_TYPE, created(before), _row_id(high, before)),
        count_sql=f"SELECT count(*) FROM (SELECT 1 FROM coordination_requests WHERE {filters}"
        f" LIMIT {COUNT_CAP + 1}) matching",
        count_args=(ENTERPRISE.credit_code, QUERY_STATUS, QUERY_PROOF_TYPE),
    )


# --- the scratch database for the raw transaction limit ----------------------------------------------------


async def scratch_database(server_dsn: str, scratch_dsn: str, name: str, drafts: int) -> list[uuid.UUID]:
    """A database no service connects to (so no outbox relay sees its rows), with the shared then the
    coordination-request migrations applied as the service applies them, and `drafts` applications in 暂存."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(scratch_dsn, min_size=1, max_size=1)
    try:
        await db.migrate(pool, COORDINATION_MIGRATIONS)
    finally:
        await pool.close()
    ids = [uuid.uuid4() for _ in range(drafts)]
    now = datetime.now(UTC)
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.copy_records_to_table(
            "coordination_requests",
            columns=(
                *APPLICATION_COLUMNS,
                "created_by",
                "created_at",
                "updated_at",
                "attachment_count",
            ),
            records=[
                (
                    rid,
                    f"XS{i:010d}",
                    ENTERPRISE.credit_code,
                    ENTERPRISE.name,
                    "CUSTOMS_CO",
                    "JP",
                    "JPTYO",
                    f"KS{i:010d}",
                    "22",
                    "310120260000123456",
                    "JP-IMP-2026-0001",
                    REASON,
                    "DRAFT",
                    "bench",
                    now,
                    now,
                    1,
                )
                for i, rid in enumerate(ids)
            ],
        )
        await conn.execute("VACUUM (ANALYZE) coordination_requests")
    finally:
        await conn.close()
    return ids


async def drop_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- files ------------------------------------------------------------------------------------------------


def pdf(size: int) -> bytes:
    """A well-formed PDF of exactly `size` bytes: one stream object of digits (nothing a zip detector could take
    for an archive), starting with %PDF- and ending with %%EOF as the attachment service checks."""
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    filler = size - len(_pdf_head(0)) - len(tail)
    if filler < 0:
        raise ValueError(f"a PDF needs at least {size - filler} bytes")
    return _pdf_head(filler) + (b"0123456789" * (filler // 10 + 1))[:filler] + tail


def _pdf_head(length: int) -> bytes:
    return b"%PDF-1.4\n1 0 obj\n<< /Length " + f"{length:010d}".encode() + b" >>\nstream\n"


def multipart(content: bytes, filename: str = "bench.pdf") -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data upload with the file in the field `file`."""
    boundary = "xhbench" + secrets.token_hex(12)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
