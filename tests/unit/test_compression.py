"""The gateway's response compression (gateway/compression.py): gzip or brotli as the client asks, for text answers
of 1 KiB and more, never for streamed answers, attachments or answers already encoded."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator

import brotli
import pytest
from litestar import Litestar, Response, get
from litestar.response import Stream
from litestar.testing import TestClient

from gateway import compression

ROWS = [
    {"requestNo": f"XT2026120400{i:04d}", "status": "PENDING", "reason": "美国海关拒绝给予协定税率"} for i in range(200)
]
PDF = b"%PDF-1.4\n" + b"0" * 50_000 + b"\n%%EOF\n"


@get("/big", sync_to_thread=False)
def big() -> dict:
    return {"items": ROWS}


@get("/small", sync_to_thread=False)
def small() -> dict:
    return {"status": "ok"}


@get("/file.pdf", sync_to_thread=False)
def pdf() -> Response:
    return Response(PDF, media_type="application/pdf")


@get("/already", sync_to_thread=False)
def already() -> Response:
    return Response(gzip.compress(b"x" * 5000), media_type="text/plain", headers={"Content-Encoding": "gzip"})


@get("/events", sync_to_thread=False)
def events() -> Stream:
    async def lines() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: {'x' * 2000} {i}\n\n".encode()

    return Stream(lines(), media_type="text/event-stream")


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Litestar(route_handlers=[big, small, pdf, already, events], middleware=[compression.compression])
    with TestClient(app) as c:
        yield c


def raw(client: TestClient, path: str, accept: str | None) -> tuple[dict[str, str], bytes]:
    """Headers and the bytes on the wire (not decoded by the client)."""
    headers = {"accept-encoding": accept} if accept is not None else {"accept-encoding": "identity"}
    with client.stream("GET", path, headers=headers) as response:
        return dict(response.headers), b"".join(response.iter_raw())


def test_a_large_json_answer_is_brotli_when_asked_and_gzip_otherwise(client: TestClient) -> None:
    plain = client.get("/big", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for accept, expected, decode in (
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("br;q=0, gzip", "gzip", gzip.decompress),
        ("gzip", "gzip", gzip.decompress),
        ("*", "br", brotli.decompress),
    ):
        headers, body = raw(client, "/big", accept)
        assert headers["content-encoding"] == expected, accept
        assert headers["vary"] == "Accept-Encoding"
        assert int(headers["content-length"]) == len(body) < len(plain.content) / 5
        assert decode(body) == plain.content


def test_no_compression_without_a_matching_accept_encoding(client: TestClient) -> None:
    for accept in ("identity", "deflate", "gzip;q=0, br;q=0", "*;q=0"):
        headers, body = raw(client, "/big", accept)
        assert "content-encoding" not in headers, accept
        assert body.startswith(b'{"items":')


def test_small_answers_files_streams_and_encoded_answers_pass_untouched(client: TestClient) -> None:
    headers, body = raw(client, "/small", "br, gzip")
    assert "content-encoding" not in headers and body == b'{"status":"ok"}'
    headers, body = raw(client, "/file.pdf", "br, gzip")
    assert "content-encoding" not in headers and body == PDF  # byte for byte, never re-encoded
    headers, body = raw(client, "/already", "br, gzip")
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == b"x" * 5000  # not twice
    headers, body = raw(client, "/events", "br, gzip")
    assert "content-encoding" not in headers and body.count(b"data: ") == 3


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert compression.preferred_encoding("gzip, deflate, br") == "br"
    assert compression.preferred_encoding("gzip;q=1.0, br;q=0") == "gzip"
    assert compression.preferred_encoding("br;q=0.5, gzip;q=0.8") == "br"  # both allowed: ours is the order
    assert compression.preferred_encoding("identity") is None
    assert compression.preferred_encoding("") is None
    assert compression.preferred_encoding("gzip;q=bogus") is None
    assert compression.preferred_encoding("*;q=0.1") == "br"
