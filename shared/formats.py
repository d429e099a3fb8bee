"""Formats of business identifiers shared by several services (pure functions, standard library only)."""

from __future__ import annotations

import re

_EXPORT_DECLARATION = re.compile(r"[0-9]{18}")
_CERTIFICATE_NO = re.compile(r"[A-Za-z0-9\-/]{1,40}")


def is_export_declaration_no(value: str) -> bool:
    """China Customs declaration numbers: 18 digits; the 9th is 0 for an export declaration."""
    return bool(_EXPORT_DECLARATION.fullmatch(value)) and value[8] == "0"


def is_certificate_no(value: str) -> bool:
    return bool(_CERTIFICATE_NO.fullmatch(value))
