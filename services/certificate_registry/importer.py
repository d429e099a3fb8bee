"""Bulk import of proofs of origin from CSV or JSON Lines, the way an issuing registry's export is loaded.

    python -m services.certificate_registry.importer FILE [--format csv|jsonl]   (DATABASE_URL from env)

Columns / keys: proofType, certificateNo, holderCreditCode, holderName, agreementCode, importCountry,
issueDate (YYYY-MM-DD), validUntil (optional). Every line is validated and written in its own transaction:
a bad line is reported with its number and reasons and never half-imported; the others go on.
Exit status: 0 all imported, 1 some lines refused, 2 the file could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from services.certificate_registry import ingest
from services.certificate_registry.reference import ReferenceData
from services.certificate_registry.repository import PostgresStore, Store


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


def rows(text: str, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot even be parsed comes as its error message."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in ("proofType", "certificateNo") if f not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"CSV header lacks {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, row
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"不是有效的JSON：{exc.msg}"
            continue
        yield number, value if isinstance(value, dict) else "每行应为一个JSON对象"


async def import_text(store: Store, text: str, fmt: str, reference: ReferenceData) -> Report:
    report = Report()
    for number, row in rows(text, fmt):
        if isinstance(row, str):
            report.errors.append((number, row))
            continue
        try:
            record = ingest.from_mapping(row, reference)
        except ingest.InvalidRecord as exc:
            report.errors.append((number, str(exc)))
            continue
        async with store.transaction() as certificates:
            if await certificates.upsert(record):
                report.created += 1
            else:
                report.updated += 1
    return report


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--format", choices=("csv", "jsonl"))
    args = parser.parse_args(argv)
    fmt = args.format or ("csv" if args.file.suffix.lower() == ".csv" else "jsonl")
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("DATABASE_URL is required (the certificate registry's database)", file=sys.stderr)
        return 2
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)  # one connection, as an operator's
    try:
        report = await import_text(PostgresStore(pool), text, fmt, ReferenceData())
    except ValueError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    finally:
        await pool.close()
    for number, message in report.errors:
        print(f"line {number}: {message}", file=sys.stderr)
    print(f"imported {report.imported} ({report.created} new, {report.updated} updated), refused {len(report.errors)}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
