"""File type by content (magic bytes and structure), never by name or declared Content-Type.

Accepted: PDF, JPEG, PNG and OFD (a zip container holding OFD.xml). A file that is also a zip archive
(a PDF/ZIP or image/ZIP polyglot) is refused: viewers and unpackers would see different files.
Standard library only.
"""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
OFD = "application/ofd"


def detect(content: bytes) -> str | None:
    """The accepted type the bytes really are, or None."""
    if content.startswith(b"%PDF-"):
        kind = PDF if b"%%EOF" in content[-2048:] else None
    elif content.startswith(b"\xff\xd8\xff"):
        kind = JPEG
    elif content.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = PNG if b"IEND" in content else None
    elif content.startswith(b"PK\x03\x04"):
        return OFD if _is_ofd(content) else None
    else:
        return None
    if kind and _is_zip(content):
        return None  # a polyglot
    return kind


def _is_zip(content: bytes) -> bool:
    if b"PK\x05\x06" not in content and b"PK\x03\x04" not in content:
        return False
    return zipfile.is_zipfile(io.BytesIO(content))


def _is_ofd(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "OFD.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False
