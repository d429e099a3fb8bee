"""The agent's loopback HTTP server: `GET /health` and `POST /sign`, for the portal's origins and own Host only."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from services.identity.card_agent.agent import Agent
from services.identity.card_agent.keyfile import CardError

MAX_BODY_BYTES = 4096
NOT_FOUND = {"code": "NOT_FOUND", "message": "数据不存在"}


class AgentServer(ThreadingHTTPServer):
    """Bound to 127.0.0.1; answers only under its own names (127.0.0.1 or localhost and the bound port)."""

    daemon_threads = True

    def __init__(self, agent: Agent, port: int) -> None:
        super().__init__(("127.0.0.1", port), AgentHandler)
        self.agent = agent
        self.hosts = frozenset({f"127.0.0.1:{self.server_port}", f"localhost:{self.server_port}"})  # the bound port


class AgentHandler(BaseHTTPRequestHandler):
    server: AgentServer
    server_version = "xianghui-card-agent"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # never log PINs or challenges; the portal shows what matters

    def _allowed_origin(self) -> str | None:
        """The request's Origin when it is one of the portal's."""
        origin = self.headers.get("Origin")
        return origin if origin and origin in self.server.agent.origins else None

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if origin := self._allowed_origin():
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(data)

    def _refuse_foreign(self) -> bool:
        # Host: a page that rebinds its own name to 127.0.0.1 is refused; Origin: only the portal may ask.
        if self.headers.get("Host") not in self.server.hosts:
            self._send(403, {"code": "FORBIDDEN_HOST", "message": "拒绝访问"})
            return True
        if self.headers.get("Origin") is not None and self._allowed_origin() is None:
            self._send(403, {"code": "FORBIDDEN_ORIGIN", "message": "拒绝访问"})
            return True
        return False

    def do_OPTIONS(self) -> None:
        if self._refuse_foreign():
            return
        self.send_response(204)
        if origin := self._allowed_origin():
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self._refuse_foreign():
            return
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, NOT_FOUND)

    def do_POST(self) -> None:
        if self._refuse_foreign():
            return
        if self.path != "/sign":
            self._send(404, NOT_FOUND)
            return
        request = self._sign_request()
        if request is None:
            self._send(400, {"code": "BAD_REQUEST", "message": "请求有误"})
            return
        card_no, pin, challenge = request
        try:
            signature = self.server.agent.sign(card_no, pin, challenge)
        except CardError as error:
            self._send(error.status, {"code": error.code, "message": error.message})
            return
        self._send(200, {"cardNo": card_no, "signature": signature})

    def _sign_request(self) -> tuple[str, str, str] | None:
        """(card number, PIN, challenge) from the JSON body; None when the body is not one."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                raise ValueError
            body = json.loads(self.rfile.read(length))
            card_no, pin, challenge = (str(body[k]) for k in ("cardNo", "pin", "challenge"))
        except (ValueError, KeyError, TypeError):
            return None
        return card_no.strip(), pin, challenge


def serve(cards_dir: Path, port: int, origins: frozenset[str]) -> AgentServer:
    """A server bound to 127.0.0.1 (not yet serving: call serve_forever); port 0 takes a free one."""
    return AgentServer(Agent(cards_dir, origins), port)
