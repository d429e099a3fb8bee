"""Response compression: gzip, or brotli when the client asks for it, for text answers (JSON above all).

An ASGI middleware of our own rather than Litestar's CompressionConfig, which compresses by path only: it would
gzip the portal's files a second time (gateway/portal.py sends them compressed already), re-encode attachment
downloads and buffer nothing of a streamed answer. Here the answer decides, from its own start message:

- only a body sent in one piece (Litestar's Response of JSON, text, …); a streamed one (more_body: server-sent
  events, large downloads) passes untouched, so nothing is held back from the client;
- only text-like media types (COMPRESSIBLE); PDF, JPEG, PNG, OFD and other attachments are already compressed or
  must reach the client byte for byte, so they are never re-encoded;
- only from MINIMUM_SIZE bytes: below it the frame costs about what it saves;
- never an answer that already has a Content-Encoding.
"""

from __future__ import annotations

import functools
import gzip
from typing import Literal

import brotli
from litestar.types import ASGIApp, Message, Receive, Scope, Send

Encoding = Literal["br", "gzip"]
MINIMUM_SIZE = 1024
COMPRESSIBLE = (
    b"application/json",
    b"application/problem+json",
    b"application/vnd.oai.openapi+json",
    b"application/javascript",
    b"application/xml",
    b"image/svg+xml",
    b"text/",
)
# Per answer, on the request's path: fast settings (an API page of JSON shrinks 5-10x at these already).
GZIP_LEVEL = 5
BROTLI_QUALITY = 4


@functools.lru_cache(maxsize=64)  # browsers send a handful of distinct values: parse each once
def preferred_encoding(accept_encoding: str, offered: tuple[Encoding, ...] = ("br", "gzip")) -> Encoding | None:
    """The first of `offered` that Accept-Encoding allows (q > 0, explicitly or through *), or None."""
    allowed: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            allowed[name.strip()] = q
    for encoding in offered:
        if allowed.get(encoding, allowed.get("*", 0.0)) > 0:
            return encoding
    return None


def compress(body: bytes, encoding: Encoding, *, level: int | None = None) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY if level is None else level, mode=brotli.MODE_TEXT)
    return gzip.compress(body, GZIP_LEVEL if level is None else level, mtime=0)


def _compressible(headers: list[tuple[bytes, bytes]]) -> bool:
    content_type = b""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-encoding":
            return False
        if lower == b"content-type":
            content_type = value.lower()
    return content_type.startswith(COMPRESSIBLE) and not content_type.startswith(b"text/event-stream")


def compression(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        accept = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value
                break
        encoding = preferred_encoding(accept.decode("latin-1")) if accept else None
        if encoding is None:
            await app(scope, receive, send)
            return
        start: Message | None = None
        decided = False

        async def send_compressed(message: Message) -> None:
            nonlocal start, decided
            if decided:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message  # held until the first body part says whether the answer comes in one piece
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            decided = True
            headers = list(start.get("headers", []))
            body = message.get("body", b"")
            if message.get("more_body", False) or not _compressible(headers) or len(body) < MINIMUM_SIZE:
                await send(start)
                await send(message)
                return
            encoded = compress(body, encoding)
            headers = [(n, v) for n, v in headers if n.lower() not in (b"content-length", b"vary")] + [
                (b"content-encoding", encoding.encode()),
                (b"content-length", str(len(encoded)).encode()),
                (b"vary", _vary(start.get("headers", []))),
            ]
            await send({**start, "headers": headers})
            await send({**message, "body": encoded})

        await app(scope, receive, send_compressed)
        if start is not None and not decided:  # an answer that ended without a body
            await send(start)

    return middleware


def _vary(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The answer's Vary with Accept-Encoding added (once)."""
    values = [v.decode("latin-1").strip() for n, v in headers if n.lower() == b"vary"]
    names = [x.strip() for v in values for x in v.split(",") if x.strip()]
    if not any(x.lower() == "accept-encoding" for x in names):
        names.append("Accept-Encoding")
    return ", ".join(names).encode("latin-1")
