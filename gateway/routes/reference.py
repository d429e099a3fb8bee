"""Reference look-ups: countries, ports, agreements, proof types, certificate auto-fill, 补录."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from gateway import apidoc, idempotency
from gateway.deps import call, decode_body
from gateway.idempotency import idempotent
from shared.contracts import registry
from shared.contracts.common import Actor, Empty, FieldError
from shared.errors import ValidationFailed


class ProofTypeList(msgspec.Struct, kw_only=True):
    items: list[registry.ProofType]


class CertificateAutofill(msgspec.Struct, kw_only=True, rename="camel"):
    """Only what the form's auto-fill needs: the holder, validity and status are not the asker's business."""

    proof_type: str
    certificate_no: str
    agreement_code: str
    agreement_name: str


class LinkCreated(msgspec.Struct, kw_only=True):
    message: str
    link: registry.ExportDeclarationLink


@get("/api/v1/reference/countries", summary="Countries/regions, fuzzy search", responses=apidoc.refusals(401))
async def countries(request: Request, q: FromQuery[str] = "", limit: FromQuery[int] = 20) -> registry.CountryList:
    return await call(
        request, registry.REFERENCE_COUNTRIES, registry.ReferenceQuery(q=q, limit=limit), registry.CountryList
    )


@get("/api/v1/reference/ports", summary="Ports of a country, fuzzy search", responses=apidoc.refusals(401))
async def ports(
    request: Request, country: FromQuery[str | None] = None, q: FromQuery[str] = "", limit: FromQuery[int] = 20
) -> registry.PortList:
    return await call(
        request,
        registry.REFERENCE_PORTS,
        registry.ReferenceQuery(q=q, country=country.upper() if country else None, limit=limit),
        registry.PortList,
    )


@get(
    "/api/v1/reference/agreements",
    summary="Preferential trade agreements (China Customs codes)",
    responses=apidoc.refusals(),
)
async def agreements(request: Request) -> registry.AgreementList:
    return await call(request, registry.REFERENCE_AGREEMENTS, Empty(), registry.AgreementList)


@get("/api/v1/reference/proof-types", summary="The four proof-of-origin types", responses=apidoc.refusals())
async def proof_types() -> ProofTypeList:
    return ProofTypeList(items=list(registry.PROOF_TYPES.values()))


@get(
    "/api/v1/certificates/lookup",
    summary="Agreement code of a certificate, for the form's auto-fill",
    responses=apidoc.refusals(401, 404),
)
async def certificate_lookup(
    request: Request, type: FromQuery[str] = "", number: FromQuery[str] = ""
) -> CertificateAutofill:
    errors = []
    if type not in registry.PROOF_TYPES:
        errors.append(FieldError(field="type", message="请选择享惠证明类型"))
    if not number.strip():
        errors.append(FieldError(field="number", message="请填写原产地证书号/声明号"))
    if errors:
        raise ValidationFailed(fields=errors)
    info = await call(
        request,
        registry.CERTIFICATE_LOOKUP,
        registry.CertificateKey(proof_type=type, certificate_no=number.strip()),
        registry.CertificateInfo,
    )
    return CertificateAutofill(
        proof_type=info.proof_type,
        certificate_no=info.certificate_no,
        agreement_code=info.agreement_code,
        agreement_name=info.agreement_name,
    )


class LinkIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    proof_type: str = ""
    certificate_no: str = ""
    export_declaration_no: str = ""


@post(
    "/api/v1/export-declaration-links",
    summary="出口报关单补录: link an export declaration to an own certificate",
    responses=apidoc.refusals(401, 403, 404, 409, write=True),
    operation_class=apidoc.json_body(LinkIn),
)
@idempotent
async def create_link(request: Request, actor: NamedDependency[Actor]) -> Response[LinkCreated]:
    body = await decode_body(request, LinkIn)
    link = await call(
        request,
        registry.LINK_CREATE,
        registry.LinkCommand(
            actor=actor,
            proof_type=body.proof_type,
            certificate_no=body.certificate_no,
            export_declaration_no=body.export_declaration_no.strip(),
            idempotency=await idempotency.key(request),
        ),
        registry.ExportDeclarationLink,
    )
    return Response(LinkCreated(message="补录成功", link=link), status_code=201)


@get("/api/v1/export-declaration-links", summary="Own export-declaration links", responses=apidoc.refusals(401, 403))
async def list_links(request: Request, actor: NamedDependency[Actor]) -> registry.LinkPage:
    return await call(request, registry.LINK_LIST, registry.LinkList(actor=actor), registry.LinkPage)


routes = [countries, ports, agreements, proof_types, certificate_lookup, create_link, list_links]
