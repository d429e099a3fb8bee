"""Serves the built web portal (portal/dist) at /: hashed assets cached for a year, index.html never cached,
every other path answered with index.html for the portal's history-mode router, under a strict CSP."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from gateway.compression import compress, preferred_encoding
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
# Compressed once at start-up: gzip 9 and brotli 7 take about 0.1 s for the whole build (1 MB of JS and CSS).
# Brotli 10-11 would save another 6 % for 25 times the start-up time.
GZIP_LEVEL, BROTLI_QUALITY = 9, 7


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    brotli: bytes | None
    media_type: str
    cache_control: str


def load(dist: Path) -> dict[str, Asset]:
    """Every file of the build, read once at start-up (about 1 MB), text files also gzipped and brotli-compressed."""
    assets: dict[str, Asset] = {}
    if not (dist / "index.html").is_file():
        return assets
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        name = path.relative_to(dist).as_posix()
        body = path.read_bytes()
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        compressible = len(body) > 512 and not media_type.startswith(("image/png", "image/jpeg", "font/woff"))
        cache = IMMUTABLE if name.startswith("assets/") else "no-cache"
        gzipped = compress(body, "gzip", level=GZIP_LEVEL) if compressible else None
        brotli = compress(body, "br", level=BROTLI_QUALITY) if compressible else None
        assets[name] = Asset(body, gzipped, brotli, media_type, cache)
    return assets


def _respond(request: Request, asset: Asset) -> Response:
    headers = {"Cache-Control": asset.cache_control, "Vary": "Accept-Encoding", **SECURITY_HEADERS}
    if asset.media_type.startswith("text/html"):
        settings = request.app.state.get("settings")
        agent = settings.card_agent_origin if settings else DEFAULT_CARD_AGENT_URL
        headers["Content-Security-Policy"] = content_security_policy(agent)
    body = asset.body
    if asset.gzipped is not None and asset.brotli is not None:
        encoding = preferred_encoding(request.headers.get("accept-encoding", ""))
        if encoding is not None:
            body, headers["Content-Encoding"] = (asset.brotli if encoding == "br" else asset.gzipped), encoding
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
