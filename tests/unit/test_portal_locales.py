"""The portal's languages: every locale has exactly the keys of zh-CN (with the same placeholders), the labels of
every locale name the same codes, and every error code the portal can receive has an English text.

zh-CN shows the server's own Chinese message (SPEC: messages stay Chinese), so only the other languages carry the
`errors` (by code) and `fieldErrors` (by field) sections; a code the server adds without an English text fails here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "portal" / "src" / "locales"
DEFAULT = "zh-CN"
OTHERS = ["en-US"]
# The sections only a language other than zh-CN has: the texts that stand in for the server's Chinese.
STAND_INS = {"errors", "fieldErrors"}
# The form fields of SPEC §3 (portal/src/domain.ts), whose errors the portal shows beside them.
FORM_FIELDS = ("importCountry", "importPort", "certificateNo", "exportDeclarationNo", "importDeclarationNo", "reason")


def _messages(lang: str) -> dict:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def _labels(lang: str) -> dict:
    return json.loads((LOCALES / f"labels.{lang}.json").read_text(encoding="utf-8"))


def _leaves(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# A name given in both scripts ({zh}, {en}: a country, an agreement): each language may show either or both.
BOTH_SCRIPTS = {"zh", "en"}


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text)) - BOTH_SCRIPTS


# --- the codes the portal can receive ---------------------------------------------------------------------------

CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
# Calls whose positional string arguments include a code: the domain's refusals, the gateway's early refusals,
# the gateway's error bodies and the card agent's errors (the portal talks to the agent directly).
CODE_CALLS = {"NotAllowed", "Outdated", "Incomplete", "_refusal", "error_body", "CardError"}
SOURCES = [ROOT / "gateway", ROOT / "shared", ROOT / "services"]
SKIP = {"devstack", "tests"}


def _python_files() -> Iterator[Path]:
    for base in SOURCES:
        for path in base.rglob("*.py"):
            if not SKIP.intersection(path.relative_to(ROOT).parts):
                yield path


def _code(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
        return node.value
    return None


def _codes_in(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        # `code = "X"` and `status, code, message = 400, "X", "…"` (a ServiceError subclass's code)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "code" and (code := _code(node.value)):
                    yield code
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for name, value in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(name, ast.Name) and name.id == "code" and (code := _code(value)):
                            yield code
        # `ServiceError("…", code="X")`, `NotAllowed("X", "…")`, `_refusal(403, "X", "…")`
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "code" and (code := _code(keyword.value)):
                    yield code
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in CODE_CALLS:
                yield from filter(None, (_code(arg) for arg in node.args[:2]))
        # the gateway's HTTP statuses as (code, message) pairs: `404: ("NOT_FOUND", "资源不存在")`
        if isinstance(node, ast.Tuple) and len(node.elts) == 2 and (code := _code(node.elts[0])):
            second = node.elts[1]
            if isinstance(second, ast.Constant) and isinstance(second.value, str) and not second.value.isascii():
                yield code


def server_codes() -> set[str]:
    codes: set[str] = set()
    for path in _python_files():
        codes.update(_codes_in(ast.parse(path.read_text(encoding="utf-8"))))
    return codes


def documented_codes() -> set[str]:
    """The codes the OpenAPI document names in its error responses (gateway/apidoc.py `_WHEN`)."""
    document = json.loads((ROOT / "portal" / "openapi.json").read_text(encoding="utf-8"))
    codes: set[str] = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    for inside in re.findall(r"（([^）]*)）", response.get("description", "")):
                        codes.update(re.findall(r"(?<![\w*])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?!\w)", inside))
    return codes


def portal_codes() -> set[str]:
    """The codes the portal gives errors of its own (no answer, an answer without a code, the card agent's)."""
    codes: set[str] = set()
    for path in (ROOT / "portal" / "src").rglob("*"):
        if path.suffix in {".ts", ".vue"} and "locales" not in path.parts:
            text = path.read_text(encoding="utf-8")
            codes.update(re.findall(r"new ApiError\([^,]+,\s*(?:[\w.]+\s*\?\?\s*)?'([A-Z_]+)'", text))
            codes.update(re.findall(r"\.code \?\? '([A-Z_]+)'", text))
    return codes


# The modules that define the error classes: the gateway (every route) and each service.
ERROR_MODULES = [
    "gateway.app",
    "services.attachment.service",
    "services.certificate_registry.service",
    "services.coordination_request.service",
    "services.customs_desk.service",
    "services.identity.cards",
    "services.identity.service",
]


def service_errors() -> dict[str, str]:
    """Every ServiceError subclass, by code, with its Chinese message."""
    import importlib

    from shared.errors import ServiceError

    for module in ERROR_MODULES:
        importlib.import_module(module)
    found: dict[str, str] = {}
    pending = [ServiceError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls.message
        pending.extend(cls.__subclasses__())
    return found


ALL_CODES = sorted(server_codes() | documented_codes() | portal_codes())


def test_the_scan_finds_the_codes_it_must() -> None:
    # A scan that stopped finding codes would pass every check below.
    assert {"VALIDATION_FAILED", "CERTIFICATE_NOT_OWNED", "DELETE_NOT_ALLOWED", "FORBIDDEN_ORIGIN", "PIN_WRONG"} <= set(
        ALL_CODES
    )
    assert {"NETWORK_ERROR", "HTTP_ERROR", "CARD_AGENT_ERROR"} <= portal_codes()
    assert {"BAD_JSON", "UNSUPPORTED_FILE_TYPE", "TOO_MANY_REQUESTS"} <= documented_codes()
    missed = set(service_errors()) - server_codes()
    assert not missed, f"ServiceError subclasses whose code the scan misses: {missed}"


@pytest.mark.parametrize("lang", OTHERS)
def test_every_error_code_has_a_text(lang: str) -> None:
    texts = _messages(lang)["errors"]
    missing = [code for code in ALL_CODES if not texts.get(code, "").strip()]
    assert not missing, f"error codes without a text in {lang}.json (section errors): {missing}"


@pytest.mark.parametrize("lang", OTHERS)
def test_error_texts_say_the_servers_figures(lang: str) -> None:
    # "文件大小不能超过4M" must not read 5 MB in English once the limit changes: every number the server's
    # message names (a size, a count, minutes) is in the text of its code.
    texts = _messages(lang)["errors"]
    wrong = {
        code: (message, texts.get(code, ""))
        for code, message in service_errors().items()
        if any(number not in re.findall(r"\d+", texts.get(code, "")) for number in re.findall(r"\d+", message))
    }
    assert not wrong, f"{lang} error texts without the figures of the server's message: {wrong}"


@pytest.mark.parametrize("lang", OTHERS)
def test_every_error_text_is_of_a_known_code(lang: str) -> None:
    unknown = sorted(set(_messages(lang)["errors"]) - set(ALL_CODES))
    assert not unknown, f"errors in {lang}.json of codes neither the server nor the portal gives: {unknown}"


@pytest.mark.parametrize("lang", OTHERS)
def test_field_errors_have_a_text_for_any_field(lang: str) -> None:
    fields = _messages(lang)["fieldErrors"]
    assert fields.get("default", "").strip()
    for field in FORM_FIELDS:
        assert fields.get(field, "").strip(), f"no field text for {field} in {lang}.json"


def test_zh_cn_has_no_stand_ins() -> None:
    # zh-CN shows the server's Chinese: a Chinese copy of its messages here would drift from the server's.
    assert not STAND_INS & set(_messages(DEFAULT))


@pytest.mark.parametrize("lang", OTHERS)
def test_messages_have_exactly_the_keys_of_zh_cn(lang: str) -> None:
    zh = _leaves(_messages(DEFAULT))
    other = _leaves({k: v for k, v in _messages(lang).items() if k not in STAND_INS})
    assert sorted(set(zh) - set(other)) == [], f"keys of {DEFAULT}.json missing from {lang}.json"
    assert sorted(set(other) - set(zh)) == [], f"keys of {lang}.json that {DEFAULT}.json lacks"


@pytest.mark.parametrize("lang", OTHERS)
def test_labels_name_the_same_codes_in_the_same_order(lang: str) -> None:
    zh, other = _leaves(_labels(DEFAULT)), _leaves(_labels(lang))
    assert list(other) == list(zh)


@pytest.mark.parametrize("lang", OTHERS)
@pytest.mark.parametrize("kind", ["messages", "labels"])
def test_texts_take_the_same_placeholders(lang: str, kind: str) -> None:
    read = _messages if kind == "messages" else _labels
    zh, other = _leaves(read(DEFAULT)), _leaves(read(lang))
    differing = {
        key: text for key, text in other.items() if key in zh and _placeholders(text) != _placeholders(zh[key])
    }
    assert not differing, f"{lang} texts whose placeholders differ from {DEFAULT}'s: {differing}"


@pytest.mark.parametrize("lang", OTHERS)
def test_no_chinese_in_another_language(lang: str) -> None:
    # Except the names of the languages, each written in its own script for the switch.
    texts = {**_leaves(_messages(lang)), **_leaves(_labels(lang))}
    chinese = {k: v for k, v in texts.items() if re.search(r"[\u4e00-\u9fff]", v) and not k.startswith("language.")}
    assert not chinese, f"Chinese left in {lang}: {chinese}"


@pytest.mark.parametrize("lang", [DEFAULT, *OTHERS])
def test_texts_avoid_vue_i18n_syntax(lang: str) -> None:
    # vue-i18n reads `|` as plural forms and `@` as a linked message: a literal one would garble the text.
    texts = {**_leaves(_messages(lang)), **_leaves(_labels(lang))}
    special = {k: v for k, v in texts.items() if re.search(r"[|@]", v)}
    assert not special, f"{lang} texts with | or @: {special}"
