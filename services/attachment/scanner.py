"""Optional virus scan through clamd's INSTREAM command (CLAMD_ADDRESS = host:port or unix:/path/clamd.sock)."""

from __future__ import annotations

import asyncio
import struct

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    pass


async def scan(address: str, content: bytes, timeout: float = 30.0) -> str | None:
    """The signature name when clamd finds something, else None. Raises ScannerUnavailable."""
    try:
        return await asyncio.wait_for(_scan(address, content), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise ScannerUnavailable(type(exc).__name__) from None


async def _scan(address: str, content: bytes) -> str | None:
    if address.startswith("unix:"):
        reader, writer = await asyncio.open_unix_connection(address[5:])
    else:
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"zINSTREAM\0")
        for start in range(0, len(content), CHUNK):
            piece = content[start : start + CHUNK]
            writer.write(struct.pack("!L", len(piece)) + piece)
        writer.write(struct.pack("!L", 0))
        await writer.drain()
        answer = (await reader.readuntil(b"\0")).rstrip(b"\0").decode("utf-8", "replace")
    finally:
        writer.close()
    # "stream: OK" | "stream: Eicar-Test-Signature FOUND" | "INSTREAM size limit exceeded. ERROR"
    if answer.endswith(" FOUND"):
        return answer.removeprefix("stream:").removesuffix("FOUND").strip()
    if answer.endswith("OK"):
        return None
    raise ScannerUnavailable(answer)
