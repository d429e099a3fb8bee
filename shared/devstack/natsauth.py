"""Who may publish and subscribe to what on NATS: one user per process, each limited to its own subjects.
A service can answer only its own requests and publish only its own context's events; only `ops` (operators,
the issuing and declaration systems, the test harness) may publish others' events.

The same matrix is rendered into the local stack's nats.conf here; deploy/compose/nats.conf and
deploy/k8s/base/nats.conf carry it too, and a test keeps them in step."""

from __future__ import annotations

# Every client: JetStream API and acks, replies to requests, micro's discovery subjects.
_COMMON_PUBLISH = ("$JS.API.>", "$JS.ACK.>", "_INBOX.>")
_COMMON_SUBSCRIBE = ("_INBOX.>", "$SRV.>")

# user -> (extra publish, extra subscribe)
MATRIX: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "identity": (("events.identity.>",), ("svc.identity.>",)),
    "certificate_registry": (("events.registry.>",), ("svc.registry.>",)),
    "coordination_request": (("events.coordination.>", "svc.registry.>"), ("svc.coordination.>",)),
    "attachment": (("events.attachment.>", "svc.coordination.>"), ("svc.attachment.>",)),
    "customs_desk": (("events.customs.>", "svc.registry.>"), ("svc.customs.>",)),
    # The gateway hears identity's events directly (core NATS): they evict its cache of verified sessions.
    "gateway": (("svc.>",), ("events.identity.>",)),
}
OPS = "ops"  # unrestricted


def permissions(user: str) -> tuple[list[str], list[str]]:
    publish, subscribe = MATRIX[user]
    return [*_COMMON_PUBLISH, *publish], [*_COMMON_SUBSCRIBE, *subscribe]


def render(passwords: dict[str, str]) -> str:
    """The `authorization` block of nats.conf; `passwords` maps each user (and `ops`) to its password,
    which may also be a `$VARIABLE` that nats-server takes from its environment."""

    def quoted(values: list[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    lines = ["authorization {", "  users = ["]
    for user in (*MATRIX, OPS):
        password = passwords[user]
        password = password if password.startswith("$") else f'"{password}"'
        if user == OPS:
            lines.append(f'    {{user: "{user}", password: {password}}}')
            continue
        publish, subscribe = permissions(user)
        lines.append(
            f'    {{user: "{user}", password: {password}, permissions: '
            f"{{publish: {quoted(publish)}, subscribe: {quoted(subscribe)}}}}}"
        )
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def with_credentials(url: str, user: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"
