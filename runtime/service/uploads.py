"""An upload's bytes checked as they stream past, never held whole: the field's `max_size`
(TooLarge at the first byte over it), its `accept` against the type sniffed from the first
bytes (UnsupportedType), and the sha256 of what was stored."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import field as default

import filetype

from runtime.definitions.model import Field
from runtime.service.errors import TooLarge, UnsupportedType

SNIFF = 8192  # bytes looked at to tell the type (filetype needs at most 8 KiB)
OCTETS = "application/octet-stream"
# Types the sniffer recognizes: a file claiming one of them must carry its signature.
SNIFFABLE = frozenset(t.mime for t in filetype.types) - {OCTETS}


@dataclass
class Incoming:
    """An upload as the API hands it over: its bytes, and what the client says of them
    (`name`, `declared`: the Content-Type), which a multipart body tells only once its part's
    headers were read, before the first byte of its data."""

    chunks: AsyncIterator[bytes]
    name: str = ""
    declared: str = ""
    length: int | None = None  # the Content-Length of a raw body, when sent


@dataclass
class Checked:
    """The checking stream's findings, complete once the stream `open` gave ran out."""

    field: Field
    incoming: Incoming
    size: int = 0
    content_type: str = OCTETS
    digest: hashlib._Hash = default(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def check_length(self) -> None:
        """Refuse at once a body whose Content-Length says it is too large."""
        length, largest = self.incoming.length, self.field.max_size
        if length is not None and largest is not None and length > largest:
            raise TooLarge(too_large(self.field))

    async def open(self) -> AsyncIterator[bytes]:
        """Read the first SNIFF bytes and decide the type (so a storage is told it before the
        first byte); then the checked stream of every byte, in the chunks they came in."""
        source = aiter(self.incoming.chunks)
        head = b""
        async for chunk in source:
            head += self._count(chunk)
            if len(head) >= SNIFF:
                break
        self._decide(head)
        return self._rest(head, source)

    async def _rest(self, head: bytes, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if head:
            yield head
        async for chunk in source:
            yield self._count(chunk)

    def _count(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.field.max_size is not None and self.size > self.field.max_size:
            raise TooLarge(too_large(self.field))
        self.digest.update(chunk)
        return chunk

    def _decide(self, head: bytes) -> None:
        """The stored type: the sniffed one, else the client's; refused unless accepted."""
        declared = self.incoming.declared.split(";")[0].strip().lower() or OCTETS
        sniffed = filetype.guess_mime(head) if head else None
        if sniffed is None and declared in SNIFFABLE:
            raise UnsupportedType(
                f"{self.field.name}: the content is not {declared} (its first bytes say so)"
            )
        self.content_type = sniffed or declared
        if not accepts(self.field.accept, self.content_type):
            raise UnsupportedType(
                f"{self.field.name}: {self.content_type} is not accepted "
                f"(accept: {', '.join(self.field.accept)})"
            )


def accepts(patterns: tuple[str, ...], media_type: str) -> bool:
    """`image/*` takes every image type; no patterns take everything."""
    if not patterns:
        return True
    major = media_type.split("/")[0]
    return any(p.lower() in (media_type, f"{major}/*") for p in patterns)


def too_large(field: Field) -> str:
    return f"{field.name}: the file is larger than its max_size of {field.max_size} bytes"
