"""Where the registry keeps proofs of origin and export-declaration links: the only code that knows their tables,
and that records, in the same transaction, the event a new link causes."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import date

import asyncpg

from services.certificate_registry.ingest import CertificateRecord
from shared import outbox, repository
from shared.contracts import registry as c
from shared.contracts.events import ExportDeclarationLinked

MAX_LINKS_LISTED = 500


@dataclass(frozen=True)
class Certificate:
    """A proof of origin as the lookup answers it."""

    proof_type: str
    certificate_no: str
    agreement_code: str
    import_country: str
    valid_until: date | None
    status: str


class Certificates(repository.Keyed):
    """The registry's records as one connection, or one transaction, sees them."""

    @abstractmethod
    async def find(self, proof_type: str, certificate_no: str) -> Certificate | None: ...

    @abstractmethod
    async def agreement_code(self, proof_type: str, certificate_no: str) -> str | None:
        """The agreement of a known certificate; None when there is none of that type and number."""

    @abstractmethod
    async def holder(self, proof_type: str, certificate_no: str) -> str | None:
        """The holder's credit code; None for an unknown certificate."""

    @abstractmethod
    async def owned_and_linked(
        self, proof_type: str, certificate_no: str, credit_code: str, declaration_no: str
    ) -> tuple[bool, bool]:
        """Whether the enterprise holds the certificate, and whether the declaration is linked to it: one read."""

    @abstractmethod
    async def upsert(self, record: CertificateRecord) -> bool:
        """Inserts or refreshes a certificate; a revoked one stays revoked. True when it is new."""

    @abstractmethod
    async def revoke(self, proof_type: str, certificate_no: str, reason: str) -> bool:
        """False when the certificate is unknown or revoked already."""

    @abstractmethod
    async def link(
        self, proof_type: str, certificate_no: str, declaration_no: str, credit_code: str, source: str
    ) -> c.ExportDeclarationLink:
        """Links the declaration to the certificate, recording ExportDeclarationLinked when the link is new; a link
        made before is answered as it stands."""

    @abstractmethod
    async def links(self, credit_code: str) -> list[c.ExportDeclarationLink]:
        """The enterprise's links, newest first, at most MAX_LINKS_LISTED."""


Store = repository.Store[Certificates]


class PostgresStore(repository.PostgresStore[Certificates]):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, PostgresCertificates)


class PostgresCertificates(repository.PostgresKeyed, Certificates):
    async def find(self, proof_type: str, certificate_no: str) -> Certificate | None:
        row = await self.conn.fetchrow(
            "SELECT proof_type, certificate_no, agreement_code, import_country, valid_until, status"
            " FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
            proof_type,
            certificate_no,
        )
        return None if row is None else Certificate(**dict(row))

    async def agreement_code(self, proof_type: str, certificate_no: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT agreement_code FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
            proof_type,
            certificate_no,
        )

    async def holder(self, proof_type: str, certificate_no: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT holder_credit_code FROM certificates WHERE proof_type = $1 AND certificate_no = $2",
            proof_type,
            certificate_no,
        )

    async def owned_and_linked(
        self, proof_type: str, certificate_no: str, credit_code: str, declaration_no: str
    ) -> tuple[bool, bool]:
        row = await self.conn.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM certificates WHERE proof_type = $1 AND certificate_no = $2"
            " AND holder_credit_code = $3) AS owned,"
            " EXISTS (SELECT 1 FROM export_declaration_links WHERE proof_type = $1 AND certificate_no = $2"
            " AND export_declaration_no = $4) AS linked",
            proof_type,
            certificate_no,
            credit_code,
            declaration_no,
        )
        return row["owned"], row["linked"]

    async def upsert(self, record: CertificateRecord) -> bool:
        return (
            await self.conn.fetchval(
                "INSERT INTO certificates (proof_type, certificate_no, holder_credit_code, holder_name, agreement_code,"
                " import_country, issue_date, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (proof_type, certificate_no) DO UPDATE SET holder_credit_code = EXCLUDED.holder_credit_code,"
                " holder_name = EXCLUDED.holder_name, agreement_code = EXCLUDED.agreement_code,"
                " import_country = EXCLUDED.import_country, issue_date = EXCLUDED.issue_date,"
                " valid_until = EXCLUDED.valid_until WHERE certificates.status = 'VALID'"
                " RETURNING (xmax = 0)",
                record.proof_type,
                record.certificate_no,
                record.holder_credit_code,
                record.holder_name,
                record.agreement_code,
                record.import_country,
                record.issue_date,
                record.valid_until,
            )
            or False
        )

    async def revoke(self, proof_type: str, certificate_no: str, reason: str) -> bool:
        status = await self.conn.execute(
            "UPDATE certificates SET status = 'REVOKED', revoked_at = now(), revoked_reason = $3"
            " WHERE proof_type = $1 AND certificate_no = $2 AND status = 'VALID'",
            proof_type,
            certificate_no,
            reason,
        )
        return status.endswith(" 1")

    async def link(
        self, proof_type: str, certificate_no: str, declaration_no: str, credit_code: str, source: str
    ) -> c.ExportDeclarationLink:
        created = await self.conn.fetchval(
            "INSERT INTO export_declaration_links (proof_type, certificate_no, export_declaration_no, credit_code, source)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING created_at",
            proof_type,
            certificate_no,
            declaration_no,
            credit_code,
            source,
        )
        if created is not None:
            await outbox.record(
                self.conn,
                outbox.new_event(
                    ExportDeclarationLinked,
                    proof_type=proof_type,
                    certificate_no=certificate_no,
                    export_declaration_no=declaration_no,
                    credit_code=credit_code,
                ),
            )
        else:
            created = await self.conn.fetchval(
                "SELECT created_at FROM export_declaration_links"
                " WHERE proof_type = $1 AND certificate_no = $2 AND export_declaration_no = $3",
                proof_type,
                certificate_no,
                declaration_no,
            )
        return c.ExportDeclarationLink(
            proof_type=proof_type,
            certificate_no=certificate_no,
            export_declaration_no=declaration_no,
            created_at=created.isoformat(),
        )

    async def links(self, credit_code: str) -> list[c.ExportDeclarationLink]:
        rows = await self.conn.fetch(
            "SELECT proof_type, certificate_no, export_declaration_no, created_at FROM export_declaration_links"
            " WHERE credit_code = $1 ORDER BY created_at DESC LIMIT $2",
            credit_code,
            MAX_LINKS_LISTED,
        )
        return [
            c.ExportDeclarationLink(
                proof_type=r["proof_type"],
                certificate_no=r["certificate_no"],
                export_declaration_no=r["export_declaration_no"],
                created_at=r["created_at"].isoformat(),
            )
            for r in rows
        ]
