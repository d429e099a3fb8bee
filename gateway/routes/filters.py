"""The query filters shared by 查询 and the officers' queue (SPEC §4) as query parameters, read into the one
contract that declares them (`RequestFilters`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar.di import Provide
from litestar.params import FromQuery, QueryParameter

from shared.contracts.common import FieldError
from shared.contracts.coordination import RequestFilters
from shared.errors import ValidationFailed

MAX_LIMIT = 100
# Submission dates a query may name: wide enough for any real filter, narrow enough for every date sum.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _filters(
    request_no: Annotated[str | None, QueryParameter(name="requestNo")] = None,
    certificate_no: Annotated[str | None, QueryParameter(name="certificateNo")] = None,
    export_declaration_no: Annotated[str | None, QueryParameter(name="exportDeclarationNo")] = None,
    status: FromQuery[str | None] = None,
    proof_type: Annotated[str | None, QueryParameter(name="proofType")] = None,
    agreement_code: Annotated[str | None, QueryParameter(name="agreementCode")] = None,
    submitted_from: Annotated[date | None, QueryParameter(name="submittedFrom")] = None,
    submitted_to: Annotated[date | None, QueryParameter(name="submittedTo")] = None,
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 20,
) -> RequestFilters:
    problems = []
    if not 1 <= limit <= MAX_LIMIT:
        problems.append(FieldError(field="limit", message=f"每页条数应为1至{MAX_LIMIT}"))
    for field, day in (("submittedFrom", submitted_from), ("submittedTo", submitted_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            problems.append(FieldError(field=field, message=f"日期应在{EARLIEST}至{LATEST}之间"))
    if submitted_from and submitted_to and submitted_from > submitted_to and not problems:
        problems.append(FieldError(field="submittedTo", message="结束日期不能早于开始日期"))
    if problems:
        raise ValidationFailed(fields=problems)
    return RequestFilters(
        request_no=request_no,
        certificate_no=certificate_no,
        export_declaration_no=export_declaration_no,
        status=status,
        proof_type=proof_type,
        agreement_code=agreement_code,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        cursor=cursor,
        limit=limit,
    )


provide_filters = Provide(_filters, sync_to_thread=False)
