"""Streaming multipart upload of one file: the size limit is enforced on the bytes as they arrive, so an
oversized upload is refused without ever being held whole."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser

from shared.contracts.attachment import MAX_BYTES
from shared.contracts.common import FieldError
from shared.errors import ServiceError, ValidationFailed

FIELD = "file"


class FileTooLarge(ServiceError):
    status, code, message = 413, "FILE_TOO_LARGE", "文件大小不能超过4M"


@dataclass
class UploadedFile:
    filename: str
    content: bytes


def _missing() -> ValidationFailed:
    return ValidationFailed("请选择要上传的文件", fields=[FieldError(field=FIELD, message="请选择要上传的文件")])


async def read_file(request: Request, limit: int = MAX_BYTES) -> UploadedFile:
    media_type, options = request.content_type
    boundary = options.get("boundary")
    if media_type != "multipart/form-data" or not boundary:
        raise ServiceError("请以 multipart/form-data 上传文件", code="UNSUPPORTED_MEDIA_TYPE", status=415)
    parser = PushMultipartParser(boundary, max_segment_count=8, strict=True)
    found: UploadedFile | None = None
    buffer: bytearray | None = None
    try:
        async for chunk in request.stream():
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    is_file = event.name == FIELD and event.filename is not None and found is None
                    buffer = bytearray() if is_file else None
                    if is_file:
                        found = UploadedFile(filename=event.filename or "", content=b"")
                elif event is None:
                    if buffer is not None and found is not None:
                        found.content = bytes(buffer)
                    buffer = None
                elif buffer is not None:
                    buffer += event
                    if len(buffer) > limit:
                        raise FileTooLarge()
        parser.close()
    except ParserLimitReached:  # too many parts, or a part header (a filename) over the parser's limit
        raise ServiceError("上传内容超出限制", code="MULTIPART_LIMIT", status=413) from None
    except MultipartError:
        raise ServiceError("上传内容格式有误", code="BAD_MULTIPART", status=400) from None
    if found is None:
        raise _missing()
    return found
