"""Serves the built web portal (portal/dist) at /: hashed assets cached for a year, index.html never cached,
every other path answered with index.html for the portal's history-mode router, under a strict CSP."""

from __future__ import annotations

import gzip
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from gateway.settings import DEFAULT_CARD_AGENT_URL

# No inline or foreign scripts; Element Plus sets style attributes, the captcha is a data: image. The page may
# also talk to the card agent (卡介质客户端控件) on this machine's loopback, at the origin given by CARD_AGENT_URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:;"
    " font-src 'self' data:; connect-src 'self' {agent}; object-src 'none'; base-uri 'self'; form-action 'self';"
    " frame-ancestors 'none'"
)


def content_security_policy(card_agent_origin: str) -> str:
    return CONTENT_SECURITY_POLICY.format(agent=card_agent_origin)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    cache_control: str


def load(dist: Path) -> dict[str, Asset]:
    """Every file of the build, read once at start-up (a few hundred KB), text files also gzipped."""
    assets: dict[str, Asset] = {}
    if not (dist / "index.html").is_file():
        return assets
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        name = path.relative_to(dist).as_posix()
        body = path.read_bytes()
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        compressible = len(body) > 512 and not media_type.startswith(("image/png", "image/jpeg", "font/woff"))
        cache = IMMUTABLE if name.startswith("assets/") else "no-cache"
        assets[name] = Asset(body, gzip.compress(body, 9, mtime=0) if compressible else None, media_type, cache)
    return assets


def _respond(request: Request, asset: Asset) -> Response:
    headers = {"Cache-Control": asset.cache_control, "Vary": "Accept-Encoding", **SECURITY_HEADERS}
    if asset.media_type.startswith("text/html"):
        settings = request.app.state.get("settings")
        agent = settings.card_agent_origin if settings else DEFAULT_CARD_AGENT_URL
        headers["Content-Security-Policy"] = content_security_policy(agent)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


@get(["/", "/{path:path}"], include_in_schema=False, sync_to_thread=False)
def portal(request: Request) -> Response:
    assets: dict[str, Asset] = request.app.state.portal_assets
    name = str(request.path_params.get("path", "")).lstrip("/")
    if name in assets:
        return _respond(request, assets[name])
    # API paths and missing files are real 404s; any other path is a page of the portal's router.
    if name.startswith(("api/", "assets/")) or "." in name.rsplit("/", 1)[-1] or "index.html" not in assets:
        raise NotFoundException()
    return _respond(request, assets["index.html"])
