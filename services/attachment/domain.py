"""The files of an application: who may change or read them, what a file must be, the limits per application,
and one method per change that says what it caused (events, damage found). Standard library only."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from services.attachment import filetype

ENTERPRISE, OFFICER = "ENTERPRISE", "OFFICER"
FILENAME_MAX = 120


# --- refusals: the service answers each with its error (status, code, message) ------------------------------


class Refused(Exception):
    """A rule said no; `message`, when given, replaces the usual one of the error it is answered with."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.message = message


class NotPermitted(Refused):
    pass


class Frozen(Refused):
    """The application's status does not allow the change."""


class TooLarge(Refused):
    pass


class EmptyContent(Refused):
    pass


class UnsupportedType(Refused):
    pass


class TooManyFiles(Refused):
    pass


class TooManyBytes(Refused):
    pass


class UnknownRequest(Refused):
    pass


class UnknownFile(Refused):
    pass


class ObjectMissing(Refused):
    pass


class Corrupted(Refused):
    pass


# --- who may do what --------------------------------------------------------------------------------------


def may_upload(role: str, credit_code: str | None) -> None:
    if role != ENTERPRISE or not credit_code:
        raise NotPermitted("仅企业用户可以上传附件")


def may_delete(role: str) -> None:
    if role != ENTERPRISE:
        raise NotPermitted("仅企业用户可以删除附件")


def scope(role: str, credit_code: str | None) -> str | None:
    """Whose files a reader sees: officers every enterprise's (None), anyone else only their enterprise's."""
    if role == OFFICER:
        return None
    if not credit_code:
        raise NotPermitted()
    return credit_code


def id_of(text: str) -> uuid.UUID:
    """An id the caller sent; a malformed one names no file."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UnknownFile() from None


# --- what a file must be ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    files: int  # per application, counting the files not deleted
    total_bytes: int  # per application, likewise


def accepted_type(content: bytes, limits: Limits) -> str:
    """The type the bytes really are, when they may be stored: not over the size, not empty, a type we accept."""
    if len(content) > limits.file_bytes:
        raise TooLarge()
    if not content:
        raise EmptyContent()
    content_type = filetype.detect(content)
    if content_type is None:
        raise UnsupportedType()
    return content_type


def clean_filename(name: str) -> str:
    """Display name only: drop path parts and control characters, keep Unicode, limit the length."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: FILENAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:FILENAME_MAX]
    return name or "附件"


# --- what a change causes ---------------------------------------------------------------------------------


class Damage(Enum):
    CORRUPTED = "corrupted"  # the bytes read back are not the ones uploaded
    MISSING = "missing"  # the object is gone


@dataclass(frozen=True)
class Added:
    file: Attachment
    by: str  # the user's login name, for the audit trail


@dataclass(frozen=True)
class Removed:
    file: Attachment
    by: str | None  # None: with its application, whose deletion coordination-request audits


@dataclass(frozen=True)
class Flagged:
    file: Attachment
    damage: Damage


@dataclass(frozen=True)
class Downloaded:
    file: Attachment
    by: str


Event = Added | Removed | Flagged | Downloaded


@dataclass(frozen=True)
class Effects:
    """What a change caused, to be kept in one transaction; `refusal`: what the caller is told once it is kept."""

    events: tuple[Event, ...] = ()
    refusal: Refused | None = None

    @property
    def files(self) -> tuple[Attachment, ...]:
        return tuple(event.file for event in self.events)


# --- the application, as coordination-request shows it to the caller ---------------------------------------


@dataclass(frozen=True)
class Application:
    id: uuid.UUID
    request_no: str  # its 协调单号, which the audit trail names
    credit_code: str
    editable: bool
    submitted: bool

    def may_upload(self) -> None:
        if not self.editable:
            raise Frozen("当前状态不允许上传附件")

    def may_delete(self) -> None:
        if not self.editable:
            raise Frozen("当前状态不允许删除附件")

    def shown_to(self, role: str) -> None:
        """Customs sees an application once it was submitted to it, as the case detail does."""
        if role == OFFICER and not self.submitted:
            raise UnknownRequest()

    def new_file(self, id: uuid.UUID, filename: str, content: bytes, content_type: str, *, by: str) -> Attachment:
        return Attachment(
            id=id,
            request_id=self.id,
            credit_code=self.credit_code,
            filename=clean_filename(filename),
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            s3_key=f"{self.credit_code}/{self.id}/{id}",
            created_by=by,
            request_no=self.request_no,
        )


# --- the files ----------------------------------------------------------------------------------------------


@dataclass
class Attachment:
    id: uuid.UUID
    request_id: uuid.UUID
    credit_code: str
    filename: str
    content_type: str
    size: int
    sha256: str
    s3_key: str
    created_by: str  # the user's id
    created_at: datetime | None = None  # stamped by the store
    damaged: bool = False  # failed its integrity check, or its object is gone
    request_no: str = ""  # the application's 协调单号 ("" for a file kept before the number was)

    @property
    def audit_target(self) -> str:
        """The file as the audit trail names it: its application's number, its name, and its id (names repeat),
        `XT20261204000001/证明材料.pdf (<id>)`; a file name holds no "/"."""
        return f"{self.request_no or self.request_id}/{self.filename} ({self.id})"

    def read_back(self, content: bytes | None, *, by: str) -> Effects:
        """The stored bytes, served only when they are the ones uploaded; otherwise the file is flagged damaged."""
        if content is None:
            return Effects((Flagged(self, Damage.MISSING),), ObjectMissing())
        if hashlib.sha256(content).hexdigest() != self.sha256:
            return Effects((Flagged(self, Damage.CORRUPTED),), Corrupted())
        return Effects((Downloaded(self, by),))


@dataclass
class ApplicationFiles:
    """One application's files that are not deleted; changed one at a time (the store locks them)."""

    request_id: uuid.UUID
    files: list[Attachment] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def damaged(self) -> int:
        return sum(1 for file in self.files if file.damaged)

    def check_room(self, size: int, limits: Limits) -> None:
        if self.count + 1 > limits.files:
            raise TooManyFiles()
        if sum(file.size for file in self.files) + size > limits.total_bytes:
            raise TooManyBytes()

    def add(self, file: Attachment, limits: Limits, *, by: str) -> Effects:
        self.check_room(file.size, limits)
        self.files.append(file)
        return Effects((Added(file, by),))

    def remove(self, attachment_id: uuid.UUID, credit_code: str, *, by: str) -> Effects:
        """The enterprise deletes one of its files."""
        for file in self.files:
            if file.id == attachment_id and file.credit_code == credit_code:
                self.files.remove(file)
                return Effects((Removed(file, by),))
        raise UnknownFile()

    def remove_all(self, credit_code: str) -> Effects:
        """The application was deleted: its files go with it."""
        gone = [file for file in self.files if file.credit_code == credit_code]
        self.files = [file for file in self.files if file.credit_code != credit_code]
        return Effects(tuple(Removed(file, None) for file in gone))


# --- the reconciler's decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    orphans: list[str]  # objects no live file refers to, older than the grace period: to remove
    missing: list[str]  # live files whose object is gone: to flag

    @classmethod
    def of(cls, objects: dict[str, datetime], live: set[str], *, cutoff: datetime) -> Sweep:
        """`objects`: the bucket's keys and when each was written; `live`: the keys of the files kept before the
        listing began (a file added since may have an object the listing missed). An object younger than `cutoff`
        may belong to an upload not committed yet, so it is left alone."""
        orphans = [key for key, modified in objects.items() if key not in live and modified < cutoff]
        return cls(orphans=orphans, missing=sorted(live - objects.keys()))
