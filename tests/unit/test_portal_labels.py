"""The portal's labels (portal/src/locales/labels.zh-CN.json) name exactly the codes the server knows, in the
server's words: a status, history action, outcome or proof type the server adds, renames or drops fails here."""

from __future__ import annotations

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
    assert set(LABELS) == set(SERVER) | {"refusal"}


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
