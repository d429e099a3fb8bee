"""Types every contract uses: the base Struct, the acting principal, errors and pages."""

from __future__ import annotations

from typing import Literal

import msgspec


class Contract(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of every inter-service payload: immutable, keyword-only, camelCase on the wire."""


Role = Literal["ENTERPRISE", "OFFICER"]


class Actor(Contract):
    """Who is acting; every service scopes its queries by it (tenant = credit_code for enterprises)."""

    user_id: str
    username: str
    display_name: str
    role: Role
    credit_code: str | None = None
    enterprise_name: str | None = None
    customs_code: str | None = None
    # Set by identity: when the assertion expires (unix seconds) and its Ed25519 signature (base64).
    expires_at: int = 0
    signature: str = ""


class FieldError(Contract):
    field: str
    message: str


class ErrorReply(Contract):
    status: int
    code: str
    message: str
    fields: list[FieldError] = []
    # Seconds after which a refused caller may try again (429); the gateway sends it as Retry-After.
    retry_after: int | None = None


class Empty(Contract):
    pass
