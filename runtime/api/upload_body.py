"""An upload's body as a stream of bytes, never read whole: a raw body (its Content-Type, its
name from Content-Disposition or `?name=`), or the first file part of a multipart/form-data
body, parsed as it arrives (python-multipart's push parser)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import unquote

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from runtime.api.problems import Problem
from runtime.limits import ascii_digits
from runtime.service.uploads import Incoming

_EXTENDED = re.compile(r"filename\*\s*=\s*([\w!#$&+.^`|~-]*)'[\w-]*'([^;\s]+)", re.IGNORECASE)


def disposition_name(header: str | bytes | None) -> str:
    """The file name a Content-Disposition gives: `filename*` (RFC 5987) over `filename`."""
    if not header:
        return ""
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    if match := _EXTENDED.search(text):
        try:
            return unquote(match.group(2), encoding=match.group(1) or "utf-8", errors="replace")
        except LookupError:  # an unknown charset
            pass
    raw = parse_options_header(text)[1].get(b"filename", b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def incoming(request: Request) -> Incoming:
    """The upload a request carries: multipart/form-data or a raw body."""
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    if kind == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise Problem(400, "Bad request", "multipart/form-data without a boundary")
        upload = Incoming(_empty())
        upload.chunks = _multipart(request, boundary, upload)
        return upload
    length = request.headers.get("content-length")
    name = request.query_params.get("name") or disposition_name(
        request.headers.get("content-disposition")
    )
    return Incoming(
        _raw(request),
        name=name,
        declared=content_type,
        length=int(length) if length and ascii_digits(length) and len(length) < 19 else None,
    )


async def _empty() -> AsyncIterator[bytes]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _raw(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _multipart(request: Request, boundary: bytes, upload: Incoming) -> AsyncIterator[bytes]:
    """The data of the first part that has a file name; `upload` learns its name and type
    from the part's headers before its first byte is yielded."""
    parts = _Parts(upload)
    parser = MultipartParser(boundary, parts.callbacks())
    async for chunk in request.stream():
        parser.write(chunk)
        while parts.pending:
            yield parts.pending.pop(0)
    parser.finalize()
    if not parts.found:
        raise Problem(400, "Bad request", "the multipart body has no file part")


class _Parts:
    """python-multipart's callbacks: the headers of each part, the data of the file part."""

    def __init__(self, upload: Incoming) -> None:
        self.upload = upload
        self.pending: list[bytes] = []
        self.found = self.taking = False
        self.headers: dict[str, str] = {}
        self.name = self.value = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self.headers = {}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header_end(self) -> None:
        self.headers[self.name.decode("latin-1").lower()] = self.value.decode("latin-1")
        self.name = self.value = b""

    def _headers_done(self) -> None:
        disposition = self.headers.get("content-disposition", "")
        has_name = "filename" in disposition.lower()
        if has_name and not self.found:
            self.found = self.taking = True
            self.upload.name = disposition_name(disposition.encode("latin-1"))
            self.upload.declared = self.headers.get("content-type", "")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.taking:
            self.pending.append(data[start:end])

    def _end(self) -> None:
        self.taking = False
