"""查询 over many applications: the first page counts the matches up to 1,000 and then reads 1000+; filters still
count exactly; later pages skip the count, and keyset paging reaches the last rows."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta

import asyncpg

from shared.paging import COUNT_CAP
from tests.accounts import admin, create_user, login, new_credit_code

MANY = COUNT_CAP + 25


def load_applications(stack, credit_code: str, count: int) -> None:
    """Bulk rows for one enterprise, straight into coordination_request's table (COPY): every 100th is 退回."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (uuid.uuid4(), f"XS{credit_code[-6:]}{i:08d}", credit_code, "批量企业", "CUSTOMS_CO", "JP", "JPTYO",
         f"K{i:013d}", "22", "310120260000123456", "JP-1", "批量", "RETURNED" if i % 100 == 0 else "DRAFT",
         "u", start + timedelta(seconds=i), start + timedelta(seconds=i))
        for i in range(count)
    ]  # fmt: skip

    async def copy() -> None:
        conn = await asyncpg.connect(stack.infra.database_url("coordination_request"))
        try:
            await conn.copy_records_to_table(
                "coordination_requests",
                records=rows,
                columns=["id", "request_no", "credit_code", "enterprise_name", "proof_type", "import_country",
                         "import_port", "certificate_no", "agreement_code", "export_declaration_no",
                         "import_declaration_no", "reason", "status", "created_by", "created_at", "updated_at"],
            )  # fmt: skip
        finally:
            await conn.close()

    asyncio.run(copy())


def test_the_total_is_capped_and_filters_still_count_exactly(stack) -> None:
    code = new_credit_code()
    made = admin(
        stack, "enterprise", "create", "--name", "批量企业", "--credit-code", code, "--customs-code", "3105960001"
    )
    assert made.returncode == 0, made.stderr
    username, password = create_user(stack, enterprise=code)
    load_applications(stack, code, MANY)
    with closing(login(stack.gateway_url, username, password)) as client:
        everything = client.get("/api/v1/coordination-requests", params={"limit": 20}).json()
        assert everything["total"] == COUNT_CAP and everything["totalCapped"] is True
        assert len(everything["items"]) == 20 and everything["nextCursor"]

        returned = client.get("/api/v1/coordination-requests", params={"status": "RETURNED", "limit": 5}).json()
        assert returned["total"] == len(range(0, MANY, 100)) and returned["totalCapped"] is False
        # Newest first, page by page to the last one.
        seen, cursor = [], None
        while True:
            params = {"status": "RETURNED", "limit": 5} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/coordination-requests", params=params).json()
            assert (page["total"] is None) == bool(cursor)  # counted on the first page only
            seen += [item["certificateNo"] for item in page["items"]]
            cursor = page["nextCursor"]
            if not cursor:
                break
        assert seen == [f"K{i:013d}" for i in reversed(range(0, MANY, 100))]
