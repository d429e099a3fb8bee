"""The query filters shared by 查询 and the officers' queue (SPEC §4): one definition, camelCase names."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

from litestar.di import Provide
from litestar.params import Parameter

from shared.contracts.common import FieldError
from shared.errors import ValidationFailed

MAX_LIMIT = 100


@dataclass(frozen=True)
class Filters:
    request_no: str | None
    certificate_no: str | None
    export_declaration_no: str | None
    status: str | None
    proof_type: str | None
    agreement_code: str | None
    submitted_from: date | None
    submitted_to: date | None
    cursor: str | None
    limit: int

    def as_query(self) -> dict[str, Any]:
        return asdict(self)


def _filters(
    request_no: Annotated[str | None, Parameter(query="requestNo")] = None,
    certificate_no: Annotated[str | None, Parameter(query="certificateNo")] = None,
    export_declaration_no: Annotated[str | None, Parameter(query="exportDeclarationNo")] = None,
    status: str | None = None,
    proof_type: Annotated[str | None, Parameter(query="proofType")] = None,
    agreement_code: Annotated[str | None, Parameter(query="agreementCode")] = None,
    submitted_from: Annotated[date | None, Parameter(query="submittedFrom")] = None,
    submitted_to: Annotated[date | None, Parameter(query="submittedTo")] = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Filters:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(fields=[FieldError(field="limit", message=f"每页条数应为1至{MAX_LIMIT}")])
    return Filters(
        request_no,
        certificate_no,
        export_declaration_no,
        status,
        proof_type,
        agreement_code,
        submitted_from,
        submitted_to,
        cursor,
        limit,
    )


provide_filters = Provide(_filters, sync_to_thread=False)
