"""Business identifiers shared by several services: the proof-of-origin types and the formats of numbers
(standard library only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXPORT_DECLARATION = re.compile(r"[0-9]{8}0[0-9]{9}")
_CERTIFICATE_NO = re.compile(r"[A-Za-z0-9\-/]{1,40}")

EXPORT_DECLARATION_NO_RULE = "出口报关单号应为18位数字，且第9位为0"


@dataclass(frozen=True)
class ProofKind:
    label: str
    number_label: str  # what its number is called on the form


# The four proof-of-origin types of SPEC §2: one form and flow, different labels and issuing registries.
PROOF_KINDS: dict[str, ProofKind] = {
    "CUSTOMS_CO": ProofKind("海关原产地证书", "原产地证书号"),
    "APPROVED_EXPORTER": ProofKind("经核准出口商原产地声明", "原产地声明号"),
    "RULING_DECLARATION": ProofKind("基于海关行政裁定或预裁定的原产地声明", "原产地声明号"),
    "CCPIT_CO": ProofKind("贸促会原产地证书", "原产地证书号"),
}


def is_export_declaration_no(value: str) -> bool:
    """China Customs declaration numbers: 18 digits; the 9th is 0 for an export declaration."""
    return bool(_EXPORT_DECLARATION.fullmatch(value))


def is_certificate_no(value: str) -> bool:
    return bool(_CERTIFICATE_NO.fullmatch(value))
