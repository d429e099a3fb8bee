"""Who may publish and subscribe to what on NATS: one user per process or outside system, each limited to what its
role needs. This matrix is the one source: it is rendered into the local stack's nats.conf here, and into
deploy/compose/nats.conf and deploy/k8s/base/nats.conf (a test keeps them in step).

- A service answers only its own requests, publishes only its own context's events and uses JetStream only
  through its own durable consumer (read its state, fetch, acknowledge): it cannot create, change or delete a
  stream or a consumer.
- `gateway` calls the services and hears identity's events; it uses no JetStream.
- `provisioner` creates and updates the stream and the durable consumers
  (`python -m shared.streams`, a Job in Kubernetes); nothing else.
- `issuer`: the certificate-issuing and export-declaration systems; may publish only their events.
- `subscriber`: another customs system reading our events through its own durable, read-only.
- `ops`: operators (and the test harness); unrestricted.

Every user gets replies only on its own inbox prefix (`_INBOX.<user>.`, see `inbox_prefix`), so nobody can read
another's replies; answering a request is allowed by `allow_responses` (only to the message it received).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.contracts.events import STREAM

API = "$JS.API"

# Outside systems reading events: each gets a durable consumer of its own name (provisioned; shared.streams).
SUBSCRIBERS = ("subscriber",)
OPS = "ops"  # unrestricted: operators only


@dataclass(frozen=True)
class Role:
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    durable: str | None = None  # the one consumer on EVENTS this user may read
    responds: bool = False  # answers requests (nats.micro): may reply to the messages it receives


def _service(events: str, serves: str, calls: tuple[str, ...] = (), durable: str | None = None) -> Role:
    return Role(
        publish=(f"events.{events}.>", *calls, f"{API}.STREAM.INFO.{STREAM}"),
        subscribe=(f"svc.{serves}.>", "$SRV.>"),
        durable=durable,
        responds=True,
    )


ROLES: dict[str, Role] = {
    "identity": _service("identity", "identity"),
    "certificate_registry": _service("registry", "registry", durable="certificate_registry"),
    "coordination_request": _service(
        "coordination", "coordination", ("svc.registry.>",), durable="coordination_request"
    ),
    "attachment": _service("attachment", "attachment", ("svc.coordination.>",), durable="attachment"),
    "customs_desk": _service("customs", "customs", ("svc.registry.>",), durable="customs_desk"),
    # The gateway hears identity's events directly (core NATS): they evict its cache of verified sessions.
    "gateway": Role(
        publish=("svc.>",),
        subscribe=("events.identity.>",),
    ),
    "provisioner": Role(
        publish=(
            *(f"{API}.STREAM.{verb}.{STREAM}" for verb in ("INFO", "CREATE", "UPDATE")),
            f"{API}.CONSUMER.CREATE.{STREAM}.>",
            f"{API}.CONSUMER.DURABLE.CREATE.{STREAM}.>",
            f"{API}.CONSUMER.INFO.{STREAM}.>",
        ),
    ),
    "issuer": Role(publish=("events.origin.>", "events.declaration.>")),
    **{name: Role(durable=name) for name in SUBSCRIBERS},
}
USERS = (*ROLES, OPS)


def inbox_prefix(user: str) -> str:
    """Where a user's replies arrive; its permissions allow no other inbox."""
    return f"_INBOX.{user}"


def permissions(user: str) -> tuple[list[str], list[str]]:
    role = ROLES[user]
    publish = list(role.publish)
    if role.durable:
        publish += [
            f"{API}.CONSUMER.INFO.{STREAM}.{role.durable}",
            f"{API}.CONSUMER.MSG.NEXT.{STREAM}.{role.durable}",
            f"$JS.ACK.{STREAM}.{role.durable}.>",
        ]
    return publish, [f"{inbox_prefix(user)}.>", *role.subscribe]


def render(passwords: dict[str, str]) -> str:
    """The `authorization` block of nats.conf; `passwords` maps each user to its password, which may also be a
    `$VARIABLE` that nats-server takes from its environment."""

    def quoted(values: list[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    lines = ["authorization {", "  users = ["]
    for user in USERS:
        password = passwords[user]
        password = password if password.startswith("$") else f'"{password}"'
        if user == OPS:
            lines.append(f'    {{user: "{user}", password: {password}}}')
            continue
        publish, subscribe = permissions(user)
        responds = ", allow_responses: true" if ROLES[user].responds else ""
        lines.append(
            f'    {{user: "{user}", password: {password}, permissions: '
            f"{{publish: {{allow: {quoted(publish)}}}, subscribe: {{allow: {quoted(subscribe)}}}{responds}}}}}"
        )
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


_PLAIN_USER = re.compile(r"[A-Za-z0-9_-]+")


def user_of(url: str) -> str | None:
    """The user named in a nats:// URL (`nats://user:password@host:port`), if it is one of ours."""
    rest = url.partition("://")[2]
    userinfo, at, _ = rest.rpartition("@")
    user = userinfo.split(":", 1)[0] if at else ""
    return user if _PLAIN_USER.fullmatch(user) else None


def with_credentials(url: str, user: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{user}:{password}@{rest}"


# The deployment configs carry the rendered matrix: compose with its dev-only passwords, Kubernetes with
# passwords from the environment (Secret nats-users); the production overlay's is the base's with TLS on client
# connections and routes. `python -m shared.natsauth` rewrites all three.
DEPLOY_CONFIGS = {
    "deploy/compose/nats.conf": lambda user: f"dev-only-nats-{user.replace('_', '-')}",
    "deploy/k8s/base/nats.conf": lambda user: f"$NATS_PASSWORD_{user.upper()}",
}
PRODUCTION_CONFIG = "deploy/k8s/overlays/production/nats.conf"
_TLS_FILES = """    cert_file: /etc/nats-tls/tls.crt
    key_file: /etc/nats-tls/tls.key
    ca_file: /etc/nats-tls/ca.crt
    timeout: 2
"""
_CLIENT_TLS = (
    "# TLS for every client connection: the certificate is cert-manager's (Certificate nats-server-tls,\n"
    "# deploy/k8s/overlays/production/nats-tls.yaml); clients use tls:// URLs and trust ca.crt (NATS_CA_FILE).\n"
    "tls {\n" + _TLS_FILES.replace("    ", "  ") + "}\n\n"
)
_ROUTE_TLS = (
    "  # Routes over TLS too, each side verifying the other's certificate.\n  tls {\n"
    + _TLS_FILES
    + "    verify: true\n  }\n"
)


def rewrite(text: str, block: str) -> str:
    """`text` (a nats.conf) with its `authorization { … }` block replaced by `block`."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("authorization {"))
    end = next(i for i in range(start, len(lines)) if lines[i].rstrip() == "}")
    return "".join(lines[:start]) + block + "".join(lines[end + 1 :])


def with_tls(base: str) -> str:
    """The production nats.conf: the base one with TLS for clients and for the cluster's routes."""
    assert "\njetstream {" in base and "\ncluster {\n" in base, "the base nats.conf lost an anchor"
    text = base.replace("\njetstream {", "\n" + _CLIENT_TLS + "jetstream {", 1)
    return text.replace("\ncluster {\n", "\ncluster {\n" + _ROUTE_TLS, 1)


def deploy_configs(read: Callable[[str], str]) -> dict[str, str]:
    """What each deployment config should contain, given a reader of the current files."""
    wanted = {
        path: rewrite(read(path), render({user: password(user) for user in USERS}))
        for path, password in DEPLOY_CONFIGS.items()
    }
    wanted[PRODUCTION_CONFIG] = with_tls(wanted["deploy/k8s/base/nats.conf"])
    return wanted


if __name__ == "__main__":
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for relative, text in deploy_configs(lambda path: (root / path).read_text()).items():
        (root / relative).write_text(text)
        print(f"wrote {relative}")
