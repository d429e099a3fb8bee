"""A small asyncio TCP proxy that sits between the services and one server (NATS, PostgreSQL or S3) and injects
network faults on command: added delay, every connection dropped at once, and connections reset mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

CHUNK = 65536


class _Link:
    """One proxied connection: the client's side and the server's side, closed together."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server
        self.forwarded = 0

    def reset(self) -> None:
        """Abort both sides with a TCP RST (SO_LINGER 0), as a broken network would, not a polite FIN."""
        for writer in (self.client, self.server):
            sock = writer.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


class FaultProxy:
    """Listens on a loopback port and forwards to `upstream` (host, port) or a unix socket path.

    Faults, set from the event loop the proxy runs on:
    - `delay`: seconds added before each chunk is passed on, in both directions (order is kept);
    - `drop_all()`: every open connection is reset at once (new ones are accepted as usual);
    - `reset_after`: while set, a connection is reset once it has carried that many bytes (mid-stream).
    """

    def __init__(self, name: str, upstream: tuple[str, int] | str) -> None:
        self.name = name
        self.upstream = upstream
        self.port = 0
        self.delay = 0.0
        self.reset_after: int | None = None
        self.resets = 0
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()

    def heal(self) -> None:
        self.delay = 0.0
        self.reset_after = None

    def drop_all(self) -> int:
        links = list(self._links)
        for link in links:
            link.reset()
        self.resets += len(links)
        return len(links)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self.upstream, str):
            return await asyncio.open_unix_connection(self.upstream)
        return await asyncio.open_connection(*self.upstream)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(self._connect(), 5)
        except (OSError, TimeoutError):  # the server is down: the client sees its connection reset
            _Link(writer, writer).reset()
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer, link), self._pipe(up_reader, writer, link))
        finally:
            self._links.discard(link)
            for w in (writer, up_writer):
                w.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link) -> None:
        try:
            while data := await source.read(CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                link.forwarded += len(data)
                if self.reset_after is not None and link.forwarded > self.reset_after:
                    link.reset()
                    self.resets += 1
                    return
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except (OSError, RuntimeError):  # the other side went away (reset, or a transport already closed)
            link.reset()
