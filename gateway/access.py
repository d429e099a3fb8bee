"""Who may call each route of the public API, declared in one place and enforced from here.

`enforce` runs before every handler (the application's before_request hook): it looks the route up in POLICY,
resolves the session's actor when the route needs one (handlers receive it as the `actor` dependency) and refuses
the wrong role. A route missing from the table is refused (fail closed). Every service scopes its queries to the actor's
enterprise besides. tests/e2e/test_access_matrix.py tries every route of the OpenAPI document as anonymous,
enterprise A, enterprise B and an officer against this table, and fails for a route missing here.
"""

from __future__ import annotations

import re

from litestar.connection import ASGIConnection

from gateway.deps import current_actor
from shared.errors import Forbidden

PUBLIC = "public"  # anyone, logged in or not
SIGNED_IN = "signed-in"  # any logged-in user; an enterprise sees only its own data (404 for another's)
ENTERPRISE = "enterprise"  # enterprise users only, their own data only; officers get 403
OFFICER = "officer"  # customs officers only; enterprise users get 403

R = "/api/v1/coordination-requests"
C = "/api/v1/customs/coordination-requests"

POLICY: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/auth/captcha"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("POST", "/api/v1/auth/card/challenge"): PUBLIC,
    ("POST", "/api/v1/auth/card/login"): PUBLIC,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/api/v1/session"): PUBLIC,  # who is logged in, if anyone: 200 with user null for nobody
    ("POST", "/api/v1/me/password"): SIGNED_IN,
    ("GET", "/api/v1/reference/agreements"): PUBLIC,
    ("GET", "/api/v1/reference/proof-types"): PUBLIC,
    ("GET", "/api/v1/reference/countries"): SIGNED_IN,
    ("GET", "/api/v1/reference/ports"): SIGNED_IN,
    ("GET", "/api/v1/certificates/lookup"): SIGNED_IN,
    ("GET", "/api/v1/export-declaration-links"): ENTERPRISE,
    ("POST", "/api/v1/export-declaration-links"): ENTERPRISE,
    ("GET", R): ENTERPRISE,
    ("POST", R): ENTERPRISE,
    ("GET", R + "/{request_id}"): ENTERPRISE,
    ("PUT", R + "/{request_id}"): ENTERPRISE,
    ("DELETE", R + "/{request_id}"): ENTERPRISE,
    ("POST", R + "/{request_id}/submit"): ENTERPRISE,
    ("POST", R + "/{request_id}/withdraw"): ENTERPRISE,
    ("POST", R + "/{request_id}/attachments"): ENTERPRISE,
    ("DELETE", R + "/{request_id}/attachments/{attachment_id}"): ENTERPRISE,
    ("GET", R + "/{request_id}/attachments"): SIGNED_IN,  # officers read the files of submitted applications
    ("GET", R + "/{request_id}/attachments/{attachment_id}"): SIGNED_IN,
    ("GET", C): OFFICER,
    ("GET", C + "/{request_id}"): OFFICER,
    ("POST", C + "/{request_id}/accept"): OFFICER,
    ("POST", C + "/{request_id}/return"): OFFICER,
    ("POST", C + "/{request_id}/conclude"): OFFICER,
    ("GET", "/api/v1/customs/audit-records"): OFFICER,
}

_TYPED_PARAM = re.compile(r"\{(\w+):\w+\}")
REFUSALS = {ENTERPRISE: "该功能仅限企业用户使用", OFFICER: "该功能仅限海关关员使用"}
ROLES = {ENTERPRISE: "ENTERPRISE", OFFICER: "OFFICER"}


async def enforce(connection: ASGIConnection) -> None:
    path = _TYPED_PARAM.sub(r"{\1}", connection.scope["path_template"])
    if not path.startswith("/api/"):
        return  # the portal, probes and the OpenAPI document
    policy = POLICY.get((connection.scope["method"], path))
    if policy is None:
        raise Forbidden()  # an API route nobody declared
    if policy == PUBLIC:
        return
    actor = await current_actor(connection)
    if policy in ROLES and actor.role != ROLES[policy]:
        raise Forbidden(REFUSALS[policy])
