"""The one interface files are stored through: put a stream under a key, open it as a stream,
delete it, ask whether it exists and how big it is, and (where the backend can) a short-lived
URL that serves it directly.

Keys are made by the server (`object_key`), never taken from a client, so no key can name a
place outside the storage; each backend still refuses a key that would escape its root.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Protocol

CHUNK = 64 * 1024  # bytes read or written at a time: streams never hold a whole file
_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


class StorageError(Exception):
    """The storage could not do what was asked (unreachable, refused, misconfigured)."""


class NotStored(StorageError):
    """No object under that key."""


class Storage(Protocol):
    """A place files live: the local disk (`local.py`) or an S3 bucket (`s3.py`)."""

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        """Store the stream under `key` (replacing nothing: keys are new); the bytes stored.
        A stream that raises leaves nothing under `key`."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, CHUNK at a time; NotStored if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int:
        """The object's size in bytes; NotStored if there is none."""
        ...

    async def presigned_url(
        self, key: str, *, filename: str, content_type: str, expires: int, inline: bool = False
    ) -> str | None:
        """A URL serving the object for `expires` seconds, or None when the backend has none
        (the API then streams the file itself)."""
        ...


def object_key(tenant: uuid.UUID | None, entity: str, record: str, field: str) -> str:
    """`<tenant>/<entity>/<record>/<field>/<uuid>`: where a newly uploaded file goes."""
    return "/".join((str(tenant or "shared"), entity, str(record), field, uuid.uuid4().hex))


def check_key(key: str) -> str:
    """`key` if it is one `object_key` could have made; else StorageError."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise StorageError(f"not a storage key: {key!r}")
    return key
