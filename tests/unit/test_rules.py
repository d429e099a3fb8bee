"""Form rules, file types by content, filenames, and configuration that must fail fast."""

from __future__ import annotations

import io
import zipfile

import pytest
from msgspec.structs import replace

from gateway.settings import Settings
from services.attachment import filetype
from services.attachment.domain import clean_filename
from services.coordination_request.domain import cleaned, validate
from shared.contracts.coordination import RequestForm
from shared.settings import SettingsError

GOOD = RequestForm(
    proof_type="CUSTOMS_CO",
    import_country="JP",
    import_port="JPTYO",
    certificate_no="K1",
    export_declaration_no="310120260000123456",
    import_declaration_no="JP-1",
    reason="理由",
)


def test_a_good_form_has_no_errors() -> None:
    assert validate(GOOD) == {}


def test_a_form_is_cleaned_of_blanks_and_its_codes_capitalised() -> None:
    typed = replace(GOOD, import_country=" jp ", import_port="jptyo ", certificate_no=" K1 ", reason=" 理由\n")
    assert cleaned(typed) == GOOD


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("310120260000123456", True),
        ("310120261000123456", False),  # 9th digit 1: an import declaration
        ("31012026000012345", False),
        ("31012026000012345X", False),
    ],
)
def test_export_declaration_number(number: str, ok: bool) -> None:
    errors = validate(replace(GOOD, export_declaration_no=number))
    assert ("exportDeclarationNo" not in errors) is ok


def test_limits_of_import_declaration_and_reason() -> None:
    at_limit = replace(GOOD, import_declaration_no="A" * 64, reason="因" * 2000)
    assert validate(at_limit) == {}
    over = replace(GOOD, import_declaration_no="A" * 65, reason="因" * 2001)
    assert set(validate(over)) == {"importDeclarationNo", "reason"}
    control = replace(GOOD, import_declaration_no="A\nB")
    assert "importDeclarationNo" in validate(control)


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<ofd/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"%PDF-1.7\n...\n%%EOF\n", "application/pdf"),
        (b"%PDF-1.7\n... truncated", None),
        (b"%PDF-1.7\n%%EOF\n" + _zip(["x.exe"]), None),  # a PDF/ZIP polyglot
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00IEND\xaeB`\x82", "image/png"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", None),  # no IEND: truncated
        (_zip(["OFD.xml", "Doc_0/Document.xml"]), "application/ofd"),
        (_zip(["word/document.xml"]), None),
        (b"MZ\x90\x00", None),
        (b"", None),
    ],
)
def test_file_type_by_content(content: bytes, expected: str | None) -> None:
    assert filetype.detect(content) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\发票.pdf", "发票.pdf"),
        ("a\r\nb.pdf", "ab.pdf"),
        ("", "附件"),
        ("名" * 200 + ".pdf", "名" * 116 + ".pdf"),
    ],
)
def test_filenames_are_cleaned_for_display(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_gateway_refuses_fixed_captcha_in_production(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"PROFILE": "production", "NATS_URL": "nats://x:4222", "COOKIE_SECURE": "true", "CAPTCHA_FIXED_CODE": "8888"}
    with pytest.raises(SettingsError):
        Settings.from_env(env)
    assert "CAPTCHA_FIXED_CODE must not be set in the production profile" in capsys.readouterr().err
    del env["CAPTCHA_FIXED_CODE"]
    assert Settings.from_env(env).profile == "production"


def test_gateway_reports_every_missing_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"PROFILE": "staging", "HTTP_PORT": "eighty"})
    err = capsys.readouterr().err
    assert "NATS_URL is required" in err and "PROFILE must be one of" in err and "HTTP_PORT must be an integer" in err
