"""The portal keys exactly the writes the gateway keys: every POST, PUT and DELETE of /api/v1 takes an
Idempotency-Key (`@idempotent`) except the ones the portal's client lists as unkeyed, and that list names only
routes that exist and take none (a key sent to such a route would be ignored: a retried click could apply twice)."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.app import create_app
from gateway.settings import Settings

CLIENT = Path(__file__).resolve().parents[2] / "portal" / "src" / "api" / "client.ts"


def _unkeyed_in_the_portal() -> set[str]:
    block = re.search(r"const UNKEYED_PATHS: Path\[\] = \[(.*?)\]", CLIENT.read_text(encoding="utf-8"), re.S)
    assert block, f"UNKEYED_PATHS not found in {CLIENT}"
    return set(re.findall(r"'([^']+)'", block.group(1)))


def _writes_of_the_gateway() -> dict[str, bool]:
    """Path → whether its handler is keyed, for every write route of /api/v1."""
    settings = Settings(
        profile="dev",
        nats_url="nats://unused",
        http_host="127.0.0.1",
        http_port=0,
        cookie_secure=False,
        allowed_origins=frozenset(),
        log_level="INFO",
    )
    writes: dict[str, bool] = {}
    for route in create_app(settings).routes:
        if not route.path.startswith("/api/v1/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods & {"POST", "PUT", "DELETE", "PATCH"}:
                fn = handler.fn
                # functools.wraps copies the name, not the code: the code tells the wrapper of @idempotent.
                keyed = fn.__code__.co_qualname == "idempotent.<locals>.once"
                writes[route.path] = writes.get(route.path, False) or keyed
    return writes


def test_the_portal_leaves_unkeyed_exactly_the_writes_the_gateway_does_not_key() -> None:
    writes = _writes_of_the_gateway()
    assert writes, "no write routes found"
    unkeyed = {path for path, keyed in writes.items() if not keyed}
    listed = _unkeyed_in_the_portal()
    assert listed <= set(writes), f"the portal lists routes the gateway has no write for: {listed - set(writes)}"
    assert listed == unkeyed, (
        f"keyed by the gateway, yet sent without a key by the portal: {sorted(listed - unkeyed)}; "
        f"not keyed by the gateway, yet sent with one by the portal: {sorted(unkeyed - listed)}"
    )
