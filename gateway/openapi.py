"""Writes the gateway's OpenAPI document as JSON, for the portal's generated TypeScript types."""

from __future__ import annotations

import json
import sys

from gateway.app import create_app
from gateway.settings import Settings


def document() -> dict:
    settings = Settings(
        profile="dev",
        nats_url="nats://unused",
        http_host="127.0.0.1",
        http_port=0,
        cookie_secure=False,
        allowed_origins=frozenset(),
        log_level="INFO",
    )
    return create_app(settings).openapi_schema.to_schema()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")
