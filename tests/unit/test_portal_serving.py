"""The gateway serves the built portal: history fallback, caching by kind of file, a CSP without inline scripts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from gateway import errors, openapi, portal

ROOT = Path(__file__).resolve().parents[2]
INDEX = '<!doctype html><html><body><div id="app"></div><script type="module" src="/assets/index-abc123.js"></script></body></html>'


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('门户');" * 100)
    app = Litestar(route_handlers=[portal.portal], exception_handlers=errors.HANDLERS)
    app.state.portal_assets = portal.load(tmp_path)
    with TestClient(app) as c:
        yield c


def test_index_is_never_cached_and_forbids_inline_scripts(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]
    assert "frame-ancestors 'none'" in csp and response.headers["x-content-type-options"] == "nosniff"


def test_portal_routes_fall_back_to_index(client: TestClient) -> None:
    for path in ("/login", "/xh/query", "/xh/requests/6f1c3f0e-1111-4e3a-9a55-000000000001"):
        response = client.get(path)
        assert response.status_code == 200 and response.text == INDEX, path


def test_hashed_assets_are_cached_for_a_year_and_sent_gzipped(client: TestClient) -> None:
    response = client.get("/assets/index-abc123.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert "javascript" in response.headers["content-type"]
    assert "门户" in response.text  # the client decompressed it
    assert len(gzip.compress(response.content)) < len(response.content)


def test_assets_are_sent_brotli_compressed_when_the_browser_asks(client: TestClient) -> None:
    plain = client.get("/assets/index-abc123.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with client.stream("GET", "/assets/index-abc123.js", headers={"accept-encoding": "gzip, deflate, br"}) as answer:
        assert answer.headers["content-encoding"] == "br" and answer.headers["vary"] == "Accept-Encoding"
        assert brotli.decompress(b"".join(answer.iter_raw())) == plain.content
    refused = client.get("/assets/index-abc123.js", headers={"accept-encoding": "br;q=0, gzip"})
    assert refused.headers["content-encoding"] == "gzip"


def test_missing_files_and_api_paths_are_real_404s(client: TestClient) -> None:
    for path in ("/assets/missing-123.js", "/favicon.ico", "/api/v1/no-such-thing", "/../README.md"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "NOT_FOUND"


def test_without_a_build_the_root_says_not_found_instead_of_failing(tmp_path: Path) -> None:
    app = Litestar(route_handlers=[portal.portal], exception_handlers=errors.HANDLERS)
    app.state.portal_assets = portal.load(tmp_path / "nothing")
    with TestClient(app) as c:
        assert c.get("/").status_code == 404


def test_the_portals_api_types_come_from_the_current_openapi_document() -> None:
    committed = json.loads((ROOT / "portal" / "openapi.json").read_text())
    assert committed == openapi.document(), (
        "portal/openapi.json is stale: run `make openapi` (and `make api-types` for the portal's types)"
    )
