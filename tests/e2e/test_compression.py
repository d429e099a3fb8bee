"""Compression on the real gateway (issue 18): JSON answers and the portal's files come gzip- or brotli-encoded as
the client asks; attachments come back byte for byte, never re-encoded."""

from __future__ import annotations

import gzip
import re

import brotli
import httpx

from tests.support import create, form, upload

BASE = "/api/v1/coordination-requests"
ENCODINGS = {"br": brotli.decompress, "gzip": gzip.decompress}


def on_the_wire(client: httpx.Client, path: str, accept: str) -> tuple[httpx.Headers, bytes]:
    """The answer's headers and its bytes as sent (httpx would otherwise decode them)."""
    with client.stream("GET", path, headers={"Accept-Encoding": accept}) as response:
        assert response.status_code == 200, path
        return response.headers, b"".join(response.iter_raw())


def assert_encoded_both_ways(client: httpx.Client, path: str) -> bytes:
    headers, plain = on_the_wire(client, path, "identity")
    assert "content-encoding" not in headers
    for accept, expected in (("gzip, deflate", "gzip"), ("gzip, deflate, br, zstd", "br")):
        headers, body = on_the_wire(client, path, accept)
        assert headers["content-encoding"] == expected, (path, accept)
        assert "accept-encoding" in headers["vary"].lower()
        assert int(headers["content-length"]) == len(body) < len(plain) / 2, (path, len(body), len(plain))
        assert ENCODINGS[expected](body) == plain
    return plain


def test_a_large_json_answer_is_compressed(demo: httpx.Client) -> None:
    for _ in range(4):
        create(demo, form())
    plain = assert_encoded_both_ways(demo, f"{BASE}?limit=20")
    assert plain.startswith(b"{") and len(plain) > 2048
    assert_encoded_both_ways(demo, "/api/v1/reference/countries")


def test_a_tiny_answer_is_sent_as_it_is(stack) -> None:
    with httpx.Client(base_url=stack.gateway_url) as anonymous:
        headers, body = on_the_wire(anonymous, "/health", "gzip, br")
    assert "content-encoding" not in headers and body == b'{"status":"ok"}'


def test_the_portals_script_is_compressed(stack) -> None:
    with httpx.Client(base_url=stack.gateway_url) as browser:
        index = browser.get("/").text
        script = re.search(r'<script type="module" crossorigin src="(/assets/[^"]+\.js)"', index)
        assert script, index
        assert_encoded_both_ways(browser, script.group(1))


def test_an_attachment_download_is_not_re_encoded(demo: httpx.Client) -> None:
    content = b"%PDF-1.4\n" + b"0 0 0 RG\n" * 20_000 + b"%%EOF\n"  # 180 KB that would compress very well
    saved = create(demo, form())
    uploaded = upload(demo, saved["id"], content)
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()["attachment"]["id"]
    headers, body = on_the_wire(demo, f"{BASE}/{saved['id']}/attachments/{attachment_id}", "gzip, deflate, br")
    assert "content-encoding" not in headers
    assert headers["content-type"].startswith("application/pdf")
    assert body == content
