"""The portal's labels (portal/src/locales/labels.zh-CN.json) name exactly the codes the server knows, in the
server's words: a status, history action, outcome or proof type the server adds, renames or drops fails here."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from gateway.routes.requests import DeclarationNotLinked
from shared.formats import PROOF_KINDS
from shared.workflow import ACTION_LABELS, OUTCOMES, STATUS_LABELS, Action, Status

LABELS_FILE = Path(__file__).resolve().parents[2] / "portal" / "src" / "locales" / "labels.zh-CN.json"
LABELS = json.loads(LABELS_FILE.read_text(encoding="utf-8"))

# Every code the server knows, with its Chinese label, in the order the portal lists them.
SERVER: dict[str, dict[str, str]] = {
    "status": {status.value: STATUS_LABELS[status] for status in Status},
    "action": {action.value: ACTION_LABELS[action] for action in Action},
    "outcome": dict(OUTCOMES),
    "proofType": {code: kind.label for code, kind in PROOF_KINDS.items()},
    "proofNumber": {code: kind.number_label for code, kind in PROOF_KINDS.items()},
}
KINDS = sorted(SERVER)


def test_the_file_has_the_server_kinds_and_no_other() -> None:
    assert set(LABELS) == set(SERVER) | {"refusal", *AUDIT_KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_server_code_has_a_label(kind: str) -> None:
    missing = [code for code in SERVER[kind] if code not in LABELS[kind]]
    assert not missing, f"{kind} codes without a label in {LABELS_FILE.name}: {missing}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_label_is_of_a_code_the_server_knows(kind: str) -> None:
    unknown = [code for code in LABELS[kind] if code not in SERVER[kind]]
    assert not unknown, f"{kind} labels of codes the server does not know: {unknown}"


@pytest.mark.parametrize("kind", KINDS)
def test_zh_cn_labels_are_the_servers(kind: str) -> None:
    differing = {
        code: (text, SERVER[kind][code])
        for code, text in LABELS[kind].items()
        if code in SERVER[kind] and text != SERVER[kind][code]
    }
    assert not differing, f"{kind} labels (portal, server) that differ: {differing}"


@pytest.mark.parametrize("kind", KINDS)
def test_labels_are_listed_in_the_servers_order(kind: str) -> None:
    # The status filter, the outcome choice and the proof-type chooser list them in this order.
    assert list(LABELS[kind]) == list(SERVER[kind])


def test_the_unlinked_declaration_refusal_is_the_gateways_message_with_its_link() -> None:
    refusal = LABELS["refusal"]
    assert list(refusal) == [DeclarationNotLinked.code]
    text = refusal[DeclarationNotLinked.code]
    assert text["message"].replace("{link}", text["link"]) == DeclarationNotLinked.message


# The audit trail's codes (issue 18): what the services write with shared.audit.record, read from their source, so
# an action or result added there without a label in the portal fails here.
ROOT = Path(__file__).resolve().parents[2]
AUDIT_KINDS = ("auditAction", "auditResult", "auditService")


def _functions() -> list[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for folder in ("services", "shared", "gateway"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "tests" in path.parts:
                continue
            for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.append((path, function))
    return found


def _is_record(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "record"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "audit"
    )


def _wrappers(functions: list) -> dict[str, int]:
    """Functions that pass their own `action` parameter on to audit.record (a repository's `audit`, `_audit`):
    name → the parameter's position among the positional arguments a caller gives (self not counted). A private
    one (`_audit`) is known by its file too, as "path:name": another file's `_audit` is another function."""
    wrappers = {}
    for path, function in functions:
        params = [a.arg for a in function.args.args if a.arg != "self"] + [a.arg for a in function.args.kwonlyargs]
        if "action" not in params:
            continue
        for node in ast.walk(function):
            if _is_record(node) and any(
                k.arg == "action" and isinstance(k.value, ast.Name) and k.value.id == "action" for k in node.keywords
            ):
                key = f"{path}:{function.name}" if function.name.startswith("_") else function.name
                wrappers[key] = params.index("action")
    return wrappers


def _audit_calls() -> list[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef, ast.Call]]:
    """Every call that writes an audit record with an action of its own: audit.record, or a wrapper of it."""
    functions = _functions()
    wrappers = _wrappers(functions)
    found = []
    for path, function in functions:
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name.startswith("_"):
                name = f"{path}:{name}"
            own = f"{path}:{function.name}" if function.name.startswith("_") else function.name
            if _is_record(node) and not (own in wrappers and _forwards(node)):
                found.append((path, function, node))
            elif name in wrappers and not _is_record(node):
                position = wrappers[name]
                if not any(k.arg == "action" for k in node.keywords) and len(node.args) > position:
                    given = ast.keyword("action", node.args[position])
                    node = ast.copy_location(ast.Call(func=node.func, args=[], keywords=[given]), node)
                found.append((path, function, node))
    return found


def _forwards(call: ast.Call) -> bool:
    return any(k.arg == "action" and isinstance(k.value, ast.Name) and k.value.id == "action" for k in call.keywords)


def _admin_actions() -> set[str]:
    from services.identity.admin import parser

    actions = set()
    for group_action in parser()._subparsers._group_actions:  # type: ignore[union-attr]
        for group, sub in group_action.choices.items():
            for command_action in sub._subparsers._group_actions:  # type: ignore[union-attr]
                for command in command_action.choices:
                    actions.add(f"ADMIN_{group}_{command}".upper().replace("-", "_"))
    return actions


def _written_actions() -> tuple[set[str], list[str]]:
    """Every action the services write; the places whose action is not a known pattern."""
    actions: set[str] = set()
    unknown: list[str] = []
    for path, function, call in _audit_calls():
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        keyword = next((k for k in call.keywords if k.arg == "action"), None)
        value: ast.expr | None = keyword.value if keyword else None
        if keyword is None:  # given in a dict spread into the call (**who)
            for node in ast.walk(function):
                if isinstance(node, ast.Dict):
                    for key, item in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "action":
                            value = item
        text = ast.unparse(value) if value is not None else ""
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            actions.add(value.value)
        elif text == "f'REQUEST_{entry.action}'":
            actions |= {f"REQUEST_{a.value}" for a in Action}
        elif text.startswith("f'ADMIN_{args.group}_{args.command}'"):
            actions |= _admin_actions()
        elif text == "cmd.action[:200]" and function.name == "record_refusal":
            pass  # the gateway's refusals: the method and route refused (GET /api/v1/…), shown as they are
        else:
            unknown.append(f"{where} action={text}")
    return actions, unknown


def _written_results() -> set[str]:
    """SUCCESS/FAILURE/REFUSED, and the login outcomes identity's _audit writes as the result."""
    from shared import audit

    results = {audit.SUCCESS, audit.FAILURE, audit.REFUSED}
    for path in sorted((ROOT / "services" / "identity").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and "_audit" in (
                getattr(node.func, "attr", None),
                getattr(node.func, "id", None),
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        results.add(arg.value)
    return results - {"CARD_SUCCESS"}  # written as SUCCESS


def test_every_audit_action_the_services_write_has_a_label() -> None:
    actions, unknown = _written_actions()
    assert not unknown, f"audit actions of an unknown form (teach this test to expand them): {unknown}"
    assert {"LOGIN", "REQUEST_SUBMIT", "ATTACHMENT_UPLOAD", "ADMIN_USER_CREATE"} <= actions  # the scan finds them
    missing = sorted(actions - set(LABELS["auditAction"]))
    assert not missing, f"audit actions without a label in {LABELS_FILE.name}: {missing}"
    stale = sorted(set(LABELS["auditAction"]) - actions)
    assert not stale, f"audit action labels of codes no service writes: {stale}"


def test_every_audit_result_and_service_has_a_label() -> None:
    from shared.contracts.audit import QUERY_SUBJECTS

    results = _written_results()
    assert {"BAD_CREDENTIALS", "CARD_SIGNATURE_INVALID"} <= results
    assert set(LABELS["auditResult"]) == results, (sorted(results), sorted(LABELS["auditResult"]))
    assert list(LABELS["auditService"]) == list(QUERY_SUBJECTS)
